/**
 * TCP bulk transfer, our side and Node's: one connection, `--chunk`-byte writes
 * until `--bytes` are sent or `--secs` have passed.
 *
 *   --role recv   listens, prints {"ready":true,"port":N}, accepts one
 *                 connection, reads to end of file, prints {"mib_s","bytes","secs"}
 *                 (timed from accept to end of file)
 *   --role send   --port N|stdin; prints {"bytes","secs"}
 *   --impl readiness  Poll/Events + TcpListener/TcpStream (park)
 *          fiber      effect/socket Socket (writer.write / reader.pull) on the park reactor
 *          node       node:net
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, must, now, num, ok, port, runMain } from "./common.ts"

const role = arg("role")
const impl = arg("impl")
const chunkSize = num("chunk", 65536)
const limit = num("bytes", 2 ** 30)
const maxMs = num("secs", 5) * 1000
const HOST = "127.0.0.1"
const chunk = new Uint8Array(chunkSize).fill(98)

const report = (bytes: number, t0: number): void => {
  const secs = (now() - t0) / 1000
  emit({ mib_s: bytes / 2 ** 20 / secs, bytes, secs })
}

// --- readiness -------------------------------------------------------------------------

const readinessRecv = Effect.gen(function*() {
  const listener = yield* TcpListener.bind(`${HOST}:0`)
  const poll = yield* Poll.make()
  const events = Events.withCapacity(16)
  yield* poll.registry.register(listener, Token(0), Interest.READABLE)
  emit({ ready: true, port: (must(listener.localAddr(), "localAddr") as { port: number }).port })
  let stream: TcpStream.TcpStream | undefined
  while (stream === undefined) {
    const a = listener.accept()
    if (a === WouldBlock) yield* poll.poll(events)
    else stream = must(a, "accept")[0]
  }
  const t0 = now()
  yield* poll.registry.register(stream, Token(1), Interest.READABLE)
  const buf = new Uint8Array(chunkSize)
  let total = 0
  for (;;) {
    const r = stream.read(buf)
    if (r === WouldBlock) {
      yield* poll.poll(events)
      continue
    }
    if (must(r, "read") === 0) break
    total += r as number
  }
  report(total, t0)
  stream.close()
})

const readinessSend = (p: number) =>
  Effect.gen(function*() {
    const stream = yield* TcpStream.connect(`${HOST}:${p}`)
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    yield* poll.registry.register(stream, Token(1), Interest.WRITABLE)
    for (;;) {
      yield* poll.poll(events)
      ok(stream.takeError(), "connect")
      if (!(stream.peerAddr() instanceof Error)) break
    }
    const t0 = now()
    let sent = 0, writes = 0
    while (sent < limit) {
      const want = Math.min(chunkSize, limit - sent)
      const w = stream.write(want === chunkSize ? chunk : chunk.subarray(0, want))
      if (w === WouldBlock) {
        yield* poll.poll(events)
        continue
      }
      sent += must(w, "write")
      if ((++writes & 15) === 0 && now() - t0 > maxMs) break
    }
    stream.close()
    emit({ bytes: sent, secs: (now() - t0) / 1000 })
  })

// --- fiber (effect/socket) ---------------------------------------------------------------

const fiberRecv = Effect.gen(function*() {
  const server = yield* Tcp.listen(`${HOST}:0`)
  emit({ ready: true, port: (server.address as { port: number }).port })
  return yield* server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const reader = yield* socket.reader
      const t0 = now()
      let total = 0
      const done = () => {
        report(total, t0)
        process.exit(0)
      }
      for (;;) {
        const chunks = yield* Effect.catch(reader.pull, () => Effect.sync(done))
        if (chunks === undefined) return
        for (const c of chunks) total += c.length
      }
    }))
  )
})

const fiberSend = (p: number) =>
  Effect.gen(function*() {
    const socket = yield* Tcp.connect(`${HOST}:${p}`)
    let sent = 0, t0 = 0
    yield* Effect.scoped(Effect.gen(function*() {
      yield* socket.reader
      const writer = yield* socket.writer
      t0 = now()
      let writes = 0
      while (sent < limit) {
        const want = Math.min(chunkSize, limit - sent)
        yield* writer.write(want === chunkSize ? chunk : chunk.subarray(0, want))
        sent += want
        if ((++writes & 15) === 0 && now() - t0 > maxMs) break
      }
    }))
    emit({ bytes: sent, secs: (now() - t0) / 1000 })
  })

// --- node:net -------------------------------------------------------------------------------

const nodeRecv = (): void => {
  const server = net.createServer((s) => {
    const t0 = now()
    let total = 0
    s.on("data", (d) => (total += d.length))
    s.on("end", () => {
      report(total, t0)
      process.exit(0)
    })
  })
  server.listen({ port: 0, host: HOST }, () => emit({ ready: true, port: (server.address() as net.AddressInfo).port }))
}

const nodeSend = (p: number): void => {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
  const c = net.connect({ port: p, host: HOST }, () => {
    const t0 = now()
    let sent = 0, writes = 0
    const pump = (): void => {
      while (sent < limit) {
        const want = Math.min(chunkSize, limit - sent)
        sent += want
        const more = c.write(want === chunkSize ? buf : buf.subarray(0, want))
        if ((++writes & 15) === 0 && now() - t0 > maxMs) break
        if (!more) {
          c.once("drain", pump)
          return
        }
      }
      c.end(() => {
        emit({ bytes: sent, secs: (now() - t0) / 1000 })
        process.exit(0)
      })
    }
    pump()
  })
}

// --- main ----------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  if (role === "recv") {
    if (impl === "readiness") return runMain(Effect.scoped(readinessRecv))
    if (impl === "fiber") return runMain(fiberRecv.pipe(Effect.scoped, Effect.provide(Reactor.layer)))
    if (impl === "node") return nodeRecv()
  } else {
    const p = await port()
    if (impl === "readiness") return runMain(Effect.scoped(readinessSend(p)))
    if (impl === "fiber") return runMain(fiberSend(p).pipe(Effect.provide(Reactor.layer)))
    if (impl === "node") return nodeSend(p)
  }
  throw new Error(`unknown --role ${role} / --impl ${impl}`)
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
