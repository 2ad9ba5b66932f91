/**
 * Many connections in one process: `--active` client connections (readiness
 * level, their own Poll) ping-pong 64 B with an echo server of the kind named,
 * over Unix stream sockets; `--idle` more connections carry one message and
 * stay open. Prints CPU time per message (the whole process: the client's
 * share is the same for every server) and the JS heap per idle connection.
 * Diagnostic, not part of `npm run bench`.
 *
 *   node --expose-gc --import tsx bench/diag/many-inproc.ts <fiber|readiness> [active] [idle] [seconds]
 *
 * With `COUNT=n` in the environment it runs exactly n messages after a warm-up
 * of `WARMUP` (default 20,000) instead of for a time: under
 * `valgrind --tool=callgrind`, the difference of two counts' instruction totals
 * is the instructions per message (syscalls' kernel work excluded), which does
 * not move with the machine's load.
 */
import * as Effect from "effect/Effect"
import type * as Socket from "effect/socket/Socket"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as UnixListener from "../../src/net/UnixListener.ts"
import * as UnixStream from "../../src/net/UnixStream.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"

const impl = process.argv[2] ?? "fiber"
const active = Number(process.argv[3] ?? 100)
const idle = Number(process.argv[4] ?? 0)
const seconds = Number(process.argv[5] ?? 3)
const path = `/tmp/many-inproc-${process.pid}.sock`
const gc = (globalThis as { gc?: () => void }).gc
const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const echoHandler = (socket: Socket.Socket) =>
  Effect.scoped(Effect.gen(function*() {
    const { pull } = yield* socket.reader
    const writer = yield* socket.writer
    for (;;) yield* writer.writeAll(yield* pull)
  })).pipe(Effect.ignore)

const fiberServer = Effect.gen(function*() {
  const server = yield* Unix.listen(path, { backlog: 4096 })
  yield* Effect.forkScoped(server.run(echoHandler))
})

const readinessServer = Effect.gen(function*() {
  const listener = yield* UnixListener.bind(path, { backlog: 4096 })
  const poll = yield* Poll.make()
  const events = Events.withCapacity(1024)
  yield* poll.registry.register(listener, Token(0), Interest.READABLE)
  const conns: Array<UnixStream.UnixStream | undefined> = [undefined]
  const buf = new Uint8Array(65536)
  yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
    yield* poll.poll(events)
    for (let i = 0; i < events.length; i++) {
      const token = events.tokenAt(i)
      if (token === 0) {
        for (;;) {
          const a = listener.accept()
          if (a === WouldBlock || a instanceof Error) break
          conns.push(a[0])
          a[0].register(poll.registry, Token(conns.length - 1), Interest.READABLE)
        }
        continue
      }
      const s = conns[token]!
      for (;;) {
        const r = s.read(buf)
        if (r === WouldBlock) break
        if (r === 0 || r instanceof Error) {
          s.close()
          break
        }
        s.write(buf.subarray(0, r))
      }
    }
  }), { disableYield: true }))
})

const program = Effect.gen(function*() {
  yield* (impl === "fiber" ? fiberServer : readinessServer)
  const poll = yield* Poll.make()
  const events = Events.withCapacity(1024)
  const msg = new Uint8Array(64).fill(7)
  const buf = new Uint8Array(65536)
  const conns: Array<UnixStream.UnixStream> = []
  const waitFor = (s: UnixStream.UnixStream) =>
    Effect.gen(function*() {
      for (;;) {
        const r = s.read(buf)
        if (r !== WouldBlock) return r
        yield* Effect.sleep(0)
      }
    })
  gc?.()
  gc?.()
  const heap0 = process.memoryUsage().heapUsed
  for (let i = 0; i < idle; i++) {
    const s = yield* UnixStream.connect(path)
    s.write(msg)
    yield* waitFor(s)
  }
  gc?.()
  gc?.()
  const heapPerIdle = idle === 0 ? 0 : (process.memoryUsage().heapUsed - heap0) / idle
  for (let i = 0; i < active; i++) {
    const s = yield* UnixStream.connect(path)
    conns.push(s)
    s.register(poll.registry, Token(i), Interest.READABLE)
  }
  let msgs = 0
  for (const s of conns) s.write(msg)
  const count = Number(process.env["COUNT"] ?? 0)
  const loop = (until: number, upTo = Infinity) =>
    Effect.gen(function*() {
      while (count > 0 ? msgs < upTo : performance.now() < until) {
        yield* poll.poll(events)
        for (let i = 0; i < events.length; i++) {
          const s = conns[events.tokenAt(i)]!
          for (;;) {
            const r = s.read(buf)
            if (r === WouldBlock || r === 0 || r instanceof Error) break
            msgs++
            s.write(msg)
          }
        }
      }
    })
  yield* loop(performance.now() + 500, Number(process.env["WARMUP"] ?? 20000))
  const c0 = cpu(), m0 = msgs, t0 = performance.now()
  yield* loop(performance.now() + seconds * 1000, m0 + count)
  const c1 = cpu(), m1 = msgs, t1 = performance.now()
  console.log(JSON.stringify({
    impl,
    cpu_us_per_msg: Math.round((c1 - c0) * 1000 / (m1 - m0) * 100) / 100,
    msgs_per_s: Math.round((m1 - m0) / ((t1 - t0) / 1000)),
    js_heap_per_idle_conn_b: Math.round(heapPerIdle),
    msgs_total: msgs
  }))
})

Effect.runFork(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).addObserver((e) => {
  if (e._tag === "Failure") console.error(e.cause)
  process.exit(0)
})
