/**
 * CPU per 64 B round trip inside one process (no scheduler between processes):
 * diagnostic for the fiber level's own cost. Not part of `npm run bench`.
 *
 *   node --import tsx bench/diag/fiber-cost.ts [mode] [rounds]
 *
 * modes: readiness  TcpStream write/read pairs, no waiting (the data is there)
 *        fiber-sync effect/socket writer/pull of both ends in one fiber: no suspension
 *        fiber-park an echo handler fiber and a client fiber: each message parks and wakes
 *        reactor-park Registration.readIo echo: parks and wakes without the Socket layer
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"

const mode = process.argv[2] ?? "fiber-sync"
const rounds = Number(process.argv[3] ?? 200000)
const msg = new Uint8Array(64).fill(1)

/** CPU time of this process (user + system), in ms: robust to other processes sharing the CPU. */
const cpuNow = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const performance = { now: cpuNow }

const report = (label: string, times: Array<number>) => {
  times.sort((a, b) => a - b)
  console.log(JSON.stringify({ mode: label, best_ns: Math.round(times[0]! * 1e6 / rounds), median_ns: Math.round(times[times.length >> 1]! * 1e6 / rounds) }))
}

const readiness = Effect.gen(function*() {
  const l = yield* TcpListener.bind("127.0.0.1:0")
  const a = yield* TcpStream.connect(l.localAddr() as never, { nodelay: true })
  yield* Effect.sleep(10)
  const acc = l.accept()
  if (acc === WouldBlock || acc instanceof Error) throw new Error("accept")
  const b = acc[0]
  b.setNodelay(true)
  if (mode !== "readiness") {
    // registered (edge-triggered, both directions) with an epoll instance; "-uv": whose fd libuv watches
    const poll = yield* Poll.make()
    const all = Interest.add(Interest.READABLE, Interest.WRITABLE)
    a.register(poll.registry, Token(1), all, {})
    b.register(poll.registry, Token(2), all, {})
    if (mode === "readiness-epoll-uv") yield* poll.poll(Events.withCapacity(8), "1 millis")
  }
  const buf = new Uint8Array(65536)
  const times: Array<number> = []
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now()
    for (let i = 0; i < rounds; i++) {
      a.write(msg)
      const n = b.read(buf) as number
      b.write(buf.slice(0, n))
      a.read(buf)
      buf.slice(0, 64)
    }
    times.push(performance.now() - t0)
  }
  report(mode, times)
})

const unix = process.env["TRANSPORT"] === "unix"
const path = `/tmp/fiber-cost-${process.pid}.sock`
const listen = () => unix ? Unix.listen(path) : Tcp.listen("127.0.0.1:0")
const connect = (address: unknown) => unix ? Unix.connect(path) : Tcp.connect(address as never)

const socketPair = Effect.gen(function*() {
  const server = yield* listen()
  const got = yield* Deferred.make<Socket.Socket>()
  yield* Effect.forkScoped(server.run((s) => Effect.andThen(Deferred.succeed(got, s), Effect.never)))
  const client = yield* connect(server.address)
  const cr = yield* client.reader
  const cw = yield* client.writer
  const s = yield* Deferred.await(got)
  return { cr, cw, s }
})

const fiberSync = Effect.gen(function*() {
  const { cr, cw, s } = yield* socketPair
  const sr = yield* s.reader
  const sw = yield* s.writer
  const rt = Effect.gen(function*() {
    yield* cw.write(msg)
    const chunks = yield* sr.pull
    yield* sw.writeAll(chunks)
    yield* cr.pull
  })
  const times: Array<number> = []
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now()
    for (let i = 0; i < rounds; i++) yield* rt
    times.push(performance.now() - t0)
  }
  report(mode, times)
})

const fiberPark = Effect.gen(function*() {
  const server = yield* listen()
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const { pull } = yield* socket.reader
      const writer = yield* socket.writer
      for (;;) yield* writer.writeAll(yield* pull)
    })).pipe(Effect.ignore)
  ))
  const client = yield* connect(server.address)
  const cr = yield* client.reader
  const cw = yield* client.writer
  const rt = Effect.gen(function*() {
    yield* cw.write(msg)
    yield* cr.pull
  })
  const times: Array<number> = []
  const n = Math.round(rounds / 4)
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) yield* rt
    times.push((performance.now() - t0) * 4)
  }
  report(mode, times)
})

const program: Effect.Effect<void, unknown, Reactor.Reactor | Scope.Scope> = mode.startsWith("readiness") ? readiness : mode === "fiber-sync" ? fiberSync : fiberPark
Effect.runFork(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).addObserver((e) => {
  if (e._tag === "Failure") console.error(e.cause)
  process.exit(0)
})
