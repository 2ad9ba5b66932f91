/**
 * The JavaScript cost of the fiber level's pull and write paths, without
 * syscalls: two `effect/socket` Sockets of ours over an in-memory stream (a
 * real fd for the reactor's registration; reads and writes fake), driven from
 * one fiber — a write on one end, a pull on the other, the echo back, a pull.
 * Prints ns per round trip (two writes, two pulls) and the Effect operations
 * the fiber evaluated per round trip. Diagnostic, not part of `npm run bench`.
 *
 *   node --import tsx bench/diag/fiber-path.ts [rounds]
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Socket from "effect/socket/Socket"
import * as Pipe from "../../src/net/Pipe.ts"
import { IoSource } from "../../src/poll/IoSource.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as StreamSocket from "../../src/socket/internal/StreamSocket.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"

const rounds = Number(process.argv[2] ?? 500000)

/** An in-memory stream end: what the peer wrote is read back; writes go to the peer. */
class MemoryStream extends IoSource {
  peer: MemoryStream | undefined = undefined
  inbox: Array<Uint8Array> = []
  read(buf: Uint8Array): number | WouldBlock {
    const c = this.inbox.shift()
    if (c === undefined) return WouldBlock
    buf.set(c)
    return c.length
  }
  write(buf: Uint8Array): number {
    this.peer!.inbox.push(buf)
    return buf.length
  }
  writev(bufs: ReadonlyArray<Uint8Array>): number {
    let n = 0
    for (const b of bufs) n += this.write(b)
    return n
  }
  shutdown(): undefined {
    return undefined
  }
}

const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const program = Effect.gen(function*() {
  const reactor = yield* Reactor.Reactor
  const [tx, rx] = yield* Pipe.make()
  const a = new MemoryStream(tx.fd), b = new MemoryStream(rx.fd)
  a.peer = b
  b.peer = a
  const regA = yield* reactor.register(a)
  const regB = yield* reactor.register(b)
  const connA = new StreamSocket.Connection(a as never, regA)
  const connB = new StreamSocket.Connection(b as never, regB)
  const client: Socket.Socket = StreamSocket.make(Effect.succeed(connA), { reconnects: true })
  const server: Socket.Socket = StreamSocket.make(Effect.succeed(connB), { reconnects: false, initial: connB })
  const cr = yield* client.reader
  const cw = yield* client.writer
  const sr = yield* server.reader
  const sw = yield* server.writer
  const msg = new Uint8Array(64)
  const rt = Effect.gen(function*() {
    yield* cw.write(msg)
    const chunks = yield* sr.pull
    yield* sw.writeAll(chunks)
    yield* cr.pull
  })
  for (let i = 0; i < 50000; i++) yield* rt
  const fiber = Fiber.getCurrent()! as unknown as { currentOpCount: number }
  const ops0 = fiber.currentOpCount
  yield* rt
  const ops = fiber.currentOpCount - ops0
  const times: Array<number> = []
  for (let k = 0; k < 7; k++) {
    const t0 = cpu()
    for (let i = 0; i < rounds; i++) yield* rt
    times.push(cpu() - t0)
  }
  times.sort((x, y) => x - y)
  console.log(JSON.stringify({ ns_per_round_trip_best: Math.round(times[0]! * 1e6 / rounds), median: Math.round(times[3]! * 1e6 / rounds), ops_per_round_trip: ops }))
})

Effect.runFork(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).addObserver((e) => {
  if (e._tag === "Failure") console.error(e.cause)
  process.exit(0)
})
