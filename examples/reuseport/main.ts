/**
 * Scale-out: one TCP port shared by several worker threads with SO_REUSEPORT,
 * each worker running its own reactor (Node 20's `net` ignores `reusePort`).
 *
 *   npx tsx examples/reuseport/main.ts [workers=2] [connections=64]
 *
 * While it runs, `ss -ltnp | grep <port>` shows one listening socket per worker.
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"
import { Worker } from "node:worker_threads"
import * as TcpListener from "../../src/net/TcpListener.ts"

const boot = new URL("./boot.mjs", import.meta.url)
const entry = new URL("./worker.ts", import.meta.url).href

/** Starts the workers and returns how many of `connections` each one served. */
export const run = (workers: number, connections: number): Effect.Effect<Map<string, number>, Error> =>
  Effect.scoped(Effect.gen(function*() {
    // Reserve a port: bound with SO_REUSEPORT so the workers can bind it too.
    // It never listens long: it closes before the first client connects.
    const reservation = yield* TcpListener.bind("127.0.0.1:0", { reusePort: true })
    const addr = reservation.localAddr()
    if (addr instanceof Error || !("port" in addr)) return yield* Effect.fail(new Error("no port"))
    const port = addr.port

    const threads = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Array.from({ length: workers }, () => {
          const worker = new Worker(boot, { workerData: { entry, port } })
          // Listen at once: a message posted before anyone listens is lost.
          const ready = new Promise<void>((resolve, reject) => {
            worker.once("message", () => resolve())
            worker.once("error", reject)
          })
          return { worker, ready }
        })
      ),
      // Ask each worker to stop and wait for it to end on its own.
      (ws) =>
        Effect.forEach(ws, ({ worker }) =>
          Effect.callback<void>((resume) => {
            worker.once("exit", () => resume(Effect.void))
            worker.postMessage("stop")
          }), { discard: true })
    )
    yield* Effect.tryPromise({
      try: () => Promise.all(threads.map((t) => t.ready)),
      catch: (e) => (e instanceof Error ? e : new Error(String(e)))
    })
    reservation.close()

    const served = new Map<string, number>()
    yield* Effect.forEach(Array.from({ length: connections }), () =>
      Effect.callback<void, Error>((resume) => {
        const c = net.connect(port, "127.0.0.1")
        let line = ""
        c.on("data", (d) => (line += d.toString()))
        c.on("end", () => {
          const who = line.trim()
          served.set(who, (served.get(who) ?? 0) + 1)
          c.destroy()
          resume(Effect.void)
        })
        c.on("error", (e) => resume(Effect.fail(e)))
      }), { concurrency: 8 })
    return served
  }))

if (import.meta.url === `file://${process.argv[1]}`) {
  const workers = Number(process.argv[2] ?? 2)
  const connections = Number(process.argv[3] ?? 64)
  Effect.runPromise(run(workers, connections)).then((served) => {
    console.log(`${connections} connections over ${workers} workers sharing one port:`)
    for (const [who, n] of [...served].sort()) console.log(`  ${who}: ${n}`)
  })
}
