/**
 * The hot paths A/B in ONE process: the base commit's modules and this tree's,
 * side by side, timed in alternating rounds, so that the load of a shared
 * machine falls on both alike (docs/observability.md, "What it costs").
 *
 *   npx tsx bench/diag/observability-ab.ts [--base REF] [--rounds 30] [--k 2000] [--only case,…] [--read-every MS] [--wall]
 *
 * REF (default: git merge-base HEAD main) is extracted with `git archive` into
 * bench/.base/ and imported from there. Three implementations:
 *   base      the base commit's modules (no metrics, no spans);
 *   tree      this tree's, with nobody reading metrics or traces;
 *   traced    this tree's, with a tracer installed (effect-mio makes its
 *             per-connection spans; Effect's native spans, kept by nobody);
 *   read      this tree's, with every metric read (Metric.snapshot +
 *             PrometheusMetrics.format) every 10 ms (`--read-every`) while
 *             the round runs — a thousand times an exporter's usual rate.
 * Cases (64-byte payloads, `--k` operations a round):
 *   udp-recv-batch   UdpSocket.recvBatch(32) + copy (K datagrams queued first, untimed)
 *   udp-send         UdpSocket.send per datagram to a connected sink (drained untimed)
 *   stream-rw        UnixStream pair: write 64 B, read 64 B
 *   fiber-udp-recv   Udp.make reader.pull (K queued first)
 *   fiber-udp-send   Udp.make writer.writeAll x32
 *   fiber-tcp-rtt    Tcp.connect <-> Tcp.listen echo, one round trip of 64 B
 *   fiber-accept     node:net connects and closes, Tcp.listen accepts (K/10 per round)
 * Prints ns per operation (median of rounds) and the per-round ratio to base
 * (median, min–max). Rounds are timed by the process's CPU time (user +
 * system, `process.cpuUsage`), which the other processes of a shared machine
 * do not inflate as they do the clock (`--wall` for the clock); CPU time
 * includes every fiber of the process, the `read` variant's reader included.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as NetAddress from "effect/net/NetAddress"
import { PrometheusMetrics } from "effect/observability"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import * as Tracer from "effect/Tracer"
import { execFileSync } from "node:child_process"
import { mkdirSync, rmSync } from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as TreeReactor from "../../src/reactor/Reactor.ts"
import * as TreeUdpSocket from "../../src/net/UdpSocket.ts"
import * as TreeUnixStream from "../../src/net/UnixStream.ts"
import * as TreeTcp from "../../src/socket/Tcp.ts"
import * as TreeUdp from "../../src/socket/Udp.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const argv = process.argv.slice(2)
const opt = (k: string): string | undefined => {
  const i = argv.indexOf(`--${k}`)
  return i >= 0 ? argv[i + 1] : undefined
}
const ROUNDS = Number(opt("rounds") ?? 30)
/** `--wall`: time rounds by the clock; by default by the process's CPU time (user + system), which other processes' load does not inflate. */
const CPU = !argv.includes("--wall")
/** `--read-every MS`: the `read` variant's interval (default 10 ms). */
const READ_EVERY = Duration.millis(Number(opt("read-every") ?? 10))
const K = Number(opt("k") ?? 2000)
const ref = opt("base") ?? execFileSync("git", ["-C", ROOT, "merge-base", "HEAD", "main"], { encoding: "utf8" }).trim()

// --- the base tree ------------------------------------------------------------------------------
const BASE = path.join(ROOT, "bench", ".base")
rmSync(BASE, { recursive: true, force: true })
mkdirSync(BASE, { recursive: true })
execFileSync("git", ["-C", ROOT, "archive", "--output", path.join(BASE, "base.tar"), ref, "src"])
execFileSync("tar", ["-x", "-f", path.join(BASE, "base.tar"), "-C", BASE])
const base = {
  Reactor: (await import(path.join(BASE, "src/reactor/Reactor.ts"))) as typeof TreeReactor,
  UdpSocket: (await import(path.join(BASE, "src/net/UdpSocket.ts"))) as typeof TreeUdpSocket,
  UnixStream: (await import(path.join(BASE, "src/net/UnixStream.ts"))) as typeof TreeUnixStream,
  Tcp: (await import(path.join(BASE, "src/socket/Tcp.ts"))) as typeof TreeTcp,
  Udp: (await import(path.join(BASE, "src/socket/Udp.ts"))) as typeof TreeUdp,
  WouldBlock: ((await import(path.join(BASE, "src/WouldBlock.ts"))) as { WouldBlock: typeof WouldBlock }).WouldBlock
}
const tree = { Reactor: TreeReactor, UdpSocket: TreeUdpSocket, UnixStream: TreeUnixStream, Tcp: TreeTcp, Udp: TreeUdp, WouldBlock }
type Impl = typeof tree

const IMPLS = ["base", "tree", "traced", "read"] as const
type Which = (typeof IMPLS)[number]
const implOf = (w: Which): Impl => (w === "base" ? (base as unknown as Impl) : tree)

const HOST = "127.0.0.1"
const payload = new Uint8Array(64).fill(7)
/** Milliseconds of the clock, or of the process's CPU time (user + system). */
const now = CPU
  ? () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  : () => performance.now()
const must = <A>(r: A): Exclude<A, Error | typeof WouldBlock> => {
  if (r instanceof Error) throw r
  if (typeof r === "symbol") throw new Error("WouldBlock")
  return r as Exclude<A, Error | typeof WouldBlock>
}
const portOf = (a: unknown): number => (a as { port: number }).port

/** One case: per implementation, a setup (in the shared Scope) returning a timed round (ms for `ops` operations). */
interface Case {
  readonly name: string
  readonly ops: number
  readonly setup: (impl: Impl) => Effect.Effect<Effect.Effect<number, unknown>, unknown, Scope.Scope | TreeReactor.Reactor>
}

const cases: ReadonlyArray<Case> = [
  {
    name: "udp-recv-batch",
    ops: K,
    setup: (impl) =>
      Effect.gen(function*() {
        const filler = yield* TreeUdpSocket.bind(`${HOST}:0`, { sendBufferSize: 4 << 20, batch: { size: 64, sendBytes: 1 << 20 } })
        const rx = yield* impl.UdpSocket.bind(`${HOST}:0`, { recvBufferSize: 4 << 20, batch: { size: 32 } })
        const to = `${HOST}:${portOf(must(rx.localAddr()))}`
        const list = Array.from({ length: K }, () => ({ payload, address: to }))
        return Effect.sync(() => {
          // Late arrivals of the last round first (loopback delivery can lag under load), untimed.
          for (let r = rx.recvBatch(32); r !== impl.WouldBlock; r = rx.recvBatch(32)) must(r)
          let sent = 0
          while (sent < K) sent += must(filler.sendBatch(list.slice(sent)))
          const t0 = now()
          let n = 0
          while (n < K) {
            const r = rx.recvBatch(32)
            if (r === impl.WouldBlock) continue
            for (const d of must(r)) {
              void d.payload.slice()
              n++
            }
          }
          return now() - t0
        })
      })
  },
  {
    name: "udp-send",
    ops: K,
    setup: (impl) =>
      Effect.gen(function*() {
        const sink = yield* TreeUdpSocket.bind(`${HOST}:0`, { recvBufferSize: 4 << 20, batch: { size: 64 } })
        const tx = yield* impl.UdpSocket.bind(`${HOST}:0`, { sendBufferSize: 4 << 20 })
        must(tx.connect(`${HOST}:${portOf(must(sink.localAddr()))}`) ?? 0)
        return Effect.sync(() => {
          const t0 = now()
          for (let i = 0; i < K; i++) must(tx.send(payload))
          const ms = now() - t0
          for (let r = sink.recvBatch(); r !== WouldBlock; r = sink.recvBatch()) must(r)
          return ms
        })
      })
  },
  {
    name: "stream-rw",
    ops: K,
    setup: (impl) =>
      Effect.gen(function*() {
        const [a, b] = yield* impl.UnixStream.pair()
        const buf = new Uint8Array(64)
        return Effect.sync(() => {
          const t0 = now()
          for (let i = 0; i < K; i++) {
            must(a.write(payload))
            must(b.read(buf))
          }
          return now() - t0
        })
      })
  },
  {
    name: "fiber-udp-recv",
    ops: K,
    setup: (impl) =>
      Effect.gen(function*() {
        const filler = yield* TreeUdpSocket.bind(`${HOST}:0`, { sendBufferSize: 4 << 20, batch: { size: 64, sendBytes: 1 << 20 } })
        const socket = yield* impl.Udp.make({ bind: `${HOST}:0`, kernelReceiveBufferSize: 4 << 20, receiveBuffer: { capacity: 2 * K } })
        const reader = yield* socket.reader
        const to = `${HOST}:${reader.address.port}`
        const list = Array.from({ length: K }, () => ({ payload, address: to }))
        return Effect.gen(function*() {
          let sent = 0
          while (sent < K) sent += must(filler.sendBatch(list.slice(sent)))
          const t0 = now()
          let n = 0
          while (n < K) n += (yield* reader.pull).length
          return now() - t0
        })
      })
  },
  {
    name: "fiber-udp-send",
    ops: Math.ceil(K / 32) * 32,
    setup: (impl) =>
      Effect.gen(function*() {
        const sink = yield* TreeUdpSocket.bind(`${HOST}:0`, { recvBufferSize: 8 << 20, batch: { size: 64 } })
        const socket = yield* impl.Udp.make({ bind: `${HOST}:0`, connect: `${HOST}:${portOf(must(sink.localAddr()))}`, kernelSendBufferSize: 4 << 20 })
        yield* socket.reader
        const writer = yield* socket.writer
        const batch = Array.from({ length: 32 }, () => ({ payload })) as unknown as readonly [DatagramSocket.OutgoingDatagram, ...Array<DatagramSocket.OutgoingDatagram>]
        return Effect.gen(function*() {
          const t0 = now()
          for (let i = 0; i < K; i += 32) yield* writer.writeAll(batch)
          const ms = now() - t0
          for (let r = sink.recvBatch(); r !== WouldBlock; r = sink.recvBatch()) must(r)
          return ms
        })
      })
  },
  {
    name: "fiber-tcp-rtt",
    ops: Math.max(1, Math.floor(K / 4)),
    setup: (impl) =>
      Effect.gen(function*() {
        const server = yield* impl.Tcp.listen(`${HOST}:0`)
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            const writer = yield* socket.writer
            while (true) yield* writer.writeAll(yield* reader.pull)
          })).pipe(Effect.ignore)
        ))
        const socket = yield* impl.Tcp.connect(`${HOST}:${(server.address as NetAddress.InetAddress).port}`)
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        const n = Math.max(1, Math.floor(K / 4))
        return Effect.gen(function*() {
          const t0 = now()
          for (let i = 0; i < n; i++) {
            yield* writer.write(payload)
            let got = 0
            while (got < 64) for (const c of yield* reader.pull) got += c.length
          }
          return now() - t0
        })
      })
  },
  {
    name: "fiber-accept",
    ops: Math.max(1, Math.floor(K / 10)),
    setup: (impl) =>
      Effect.gen(function*() {
        const server = yield* impl.Tcp.listen(`${HOST}:0`, { backlog: 1024 })
        yield* Effect.forkScoped(server.run(() => Effect.void))
        const port = (server.address as NetAddress.InetAddress).port
        const n = Math.max(1, Math.floor(K / 10))
        const one = () =>
          new Promise<void>((resolve, reject) => {
            const c = net.connect(port, HOST)
            c.on("error", reject)
            c.on("end", () => c.destroy())
            c.on("close", () => resolve())
            c.resume()
          })
        return Effect.promise(async () => {
          const t0 = now()
          for (let i = 0; i < n; i++) await one()
          return now() - t0
        })
      })
  }
]

const keepingTracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })
let scrapes = 0
let scrapeMs = 0
const scrape = Effect.suspend(() => {
  const t0 = now()
  return Effect.flatMap(Metric.snapshot, () => PrometheusMetrics.format()).pipe(Effect.ensuring(Effect.sync(() => {
    scrapes++
    scrapeMs += now() - t0
  })))
})

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const program = Effect.gen(function*() {
  // One reactor per implementation for the whole run (each module set has its own).
  const reactors = {
    base: yield* Layer.build(base.Reactor.layer as typeof TreeReactor.layer),
    tree: yield* Layer.build(TreeReactor.layer)
  }
  console.log(`A/B in one process: base ${ref.slice(0, 10)} vs this tree; ${ROUNDS} rounds, ${K} operations a round, timed by ${CPU ? "CPU time" : "the clock"}; node ${process.version}\n`)
  console.log(`${"case".padEnd(16)} ${"base ns/op".padStart(11)}   ${"tree / base".padEnd(22)}  ${"traced / base".padEnd(22)}  read / base (per-round ratios: median (min–max))`)
  yield* Effect.addFinalizer(() => Effect.sync(() => console.log(`\nread: ${scrapes} reads, ${(scrapeMs / Math.max(1, scrapes) * 1000).toFixed(0)} µs each`)))
  const only = opt("only")?.split(",")
  for (const c of cases.filter((c) => only === undefined || only.includes(c.name))) {
    const rounds: Record<Which, Effect.Effect<number, unknown>> = {} as never
    for (const w of IMPLS) {
      const setup = c.setup(implOf(w)).pipe(Effect.provideContext(w === "base" ? reactors.base : reactors.tree))
      const round = w === "read"
        ? Effect.flatMap(setup, (r) =>
          Effect.succeed(Effect.scoped(Effect.andThen(Effect.forkScoped(Effect.repeat(scrape, Schedule.spaced(READ_EVERY))), r))))
        : setup
      rounds[w] = yield* (w === "traced" ? Effect.provideService(round, Tracer.Tracer, keepingTracer) : round)
    }
    const times: Record<Which, Array<number>> = { base: [], tree: [], traced: [], read: [] }
    for (let r = 0; r < ROUNDS + 3; r++) {
      for (let k = 0; k < IMPLS.length; k++) {
        const w = IMPLS[(k + r) % IMPLS.length]!
        const ms = yield* (w === "traced" ? Effect.provideService(rounds[w], Tracer.Tracer, keepingTracer) : rounds[w])
        if (r >= 3) times[w].push((ms * 1e6) / c.ops)
      }
    }
    const ratio = (w: Which) => times[w].map((t, i) => t / times.base[i]!)
    const show = (xs: Array<number>) => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`
    console.log(
      `${c.name.padEnd(16)} ${median(times.base).toFixed(0).padStart(11)}   ${show(ratio("tree")).padEnd(22)}  ${show(ratio("traced")).padEnd(22)}  ${show(ratio("read"))}`
    )
  }
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
