/**
 * TLS over TCP, our side and Node's: bulk transfer and 64 B ping-pong over one
 * connection, after the handshake.
 *
 *   --mode bulk   --role recv   listens, prints {"ready":true,"port":N}, accepts
 *                               one connection, reads plaintext to its end, prints
 *                               {"mib_s","bytes","secs"} (timed from the end of
 *                               the handshake to the end of stream)
 *                 --role send   --port N|stdin; writes --chunk-byte plaintext
 *                               chunks until --bytes are sent or --secs have passed
 *   --mode rtt    --role server an echo server; --role client sends --size bytes
 *                               and waits for the echo, --rounds times after the
 *                               warm-up; prints {"mean_us","p50_us","p99_us",…}
 *   --impl ours   Tcp.listen / Tcp.connect, then reader.upgrade (node:tls over our
 *                 connection, driven by the reactor, park)
 *          node   node:tls (tls.createServer / tls.connect, noDelay)
 *          nodejs node:tls over a JavaScript Duplex that forwards to a net.Socket:
 *                 node:tls's JavaScript-stream path (JSStreamSocket), which any
 *                 design that hands node:tls a Duplex goes through — ours too
 *   --cert F --key F  the server's certificate and key (PEM files)
 *   --ca F            the CA the client trusts (it checks the name "localhost")
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Socket from "effect/socket/Socket"
import { readFileSync } from "node:fs"
import * as net from "node:net"
import { Duplex } from "node:stream"
import * as tls from "node:tls"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { arg, emit, measureRoundTrips, now, num, port, runMain, Samples, Warmup } from "./common.ts"

const mode = arg("mode")
const role = arg("role")
const impl = arg("impl")
const chunkSize = num("chunk", 65536)
const limit = num("bytes", 2 ** 30)
const maxMs = num("secs", 5) * 1000
const size = num("size", 64)
const rounds = num("rounds", 10000)
const warmup = num("warmup", 3000)
const warmupMs = num("warmup-ms", 0)
const HOST = "127.0.0.1"
const SERVERNAME = "localhost"
const chunk = new Uint8Array(chunkSize).fill(98)
const message = new Uint8Array(size).fill(120)

const serverIdentity = () => ({ key: readFileSync(arg("key"), "utf8"), cert: readFileSync(arg("cert"), "utf8") })
const trusted = () => readFileSync(arg("ca"), "utf8")

const report = (bytes: number, t0: number): void => {
  const secs = (now() - t0) / 1000
  emit({ mib_s: bytes / 2 ** 20 / secs, bytes, secs })
}

// --- ours ----------------------------------------------------------------------------------

/** The accepted socket's reader, upgraded as the TLS server. */
const serverReader = (socket: Socket.Socket) =>
  Effect.gen(function*() {
    const { cert, key } = serverIdentity()
    const reader = yield* socket.reader
    yield* reader.upgrade({ key: Redacted.make(key), cert })
    return reader
  })

/** A client socket's reader and writer, upgraded as the TLS client. */
const clientSide = (p: number) =>
  Effect.gen(function*() {
    const socket = yield* Tcp.connect(`${HOST}:${p}`)
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* reader.upgrade({ ca: trusted(), servername: SERVERNAME })
    return { reader, writer }
  })

const oursRecv = Effect.gen(function*() {
  const server = yield* Tcp.listen(`${HOST}:0`)
  emit({ ready: true, port: (server.address as { port: number }).port })
  return yield* server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const reader = yield* serverReader(socket)
      const t0 = now()
      let total = 0
      for (;;) {
        const chunks = yield* Effect.catch(reader.pull, () => Effect.succeed(undefined))
        if (chunks === undefined) break
        for (const c of chunks) total += c.length
      }
      report(total, t0)
      process.exit(0)
    }))
  )
})

const oursSend = (p: number) =>
  Effect.gen(function*() {
    let sent = 0, t0 = 0
    yield* Effect.scoped(Effect.gen(function*() {
      const { writer } = yield* clientSide(p)
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

const oursEcho = Effect.gen(function*() {
  const server = yield* Tcp.listen(`${HOST}:0`, { backlog: 4096 })
  emit({ ready: true, port: (server.address as { port: number }).port })
  return yield* server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const reader = yield* serverReader(socket)
      const writer = yield* socket.writer
      for (;;) yield* writer.writeAll(yield* reader.pull)
    })).pipe(Effect.ignore)
  )
})

const oursPing = (p: number) =>
  Effect.scoped(Effect.gen(function*() {
    const { reader, writer } = yield* clientSide(p)
    const roundTrip = Effect.gen(function*() {
      yield* writer.write(message)
      let got = 0
      while (got < size) for (const c of yield* reader.pull) got += c.length
    })
    yield* measureRoundTrips(roundTrip, { rounds, warmup, warmupMs })
  }))

// --- node:tls --------------------------------------------------------------------------------

const listening = (server: tls.Server): void => {
  server.listen({ port: 0, host: HOST, backlog: 4096 }, () => emit({ ready: true, port: (server.address() as net.AddressInfo).port }))
}

const nodeRecv = (listen: (onSecure: (s: tls.TLSSocket) => void) => void): void => {
  listen((s) => {
    const t0 = now()
    let total = 0
    s.on("data", (d: Buffer) => (total += d.length))
    s.on("end", () => {
      report(total, t0)
      process.exit(0)
    })
  })
}

const nodeListening = (onSecure: (s: tls.TLSSocket) => void): void =>
  listening(tls.createServer({ ...serverIdentity(), noDelay: true }, onSecure))

const nodeConnect = (p: number, onSecure: (c: tls.TLSSocket) => void): void => {
  const c = tls.connect({ port: p, host: HOST, servername: SERVERNAME, ca: trusted() }, () => onSecure(c))
  c.setNoDelay(true)
  c.on("error", (e) => {
    process.stderr.write(`${e.message}\n`)
    process.exit(1)
  })
}

const nodeSend = (connect: typeof nodeConnect, p: number): void =>
  connect(p, (c) => {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
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

const nodeEcho = (listen: (onSecure: (s: tls.TLSSocket) => void) => void): void => {
  listen((s) => {
    s.on("data", (d) => s.write(d))
    s.on("error", () => {})
  })
}

const nodePing = (connect: typeof nodeConnect, p: number): void =>
  connect(p, (c) => {
    const samples = new Samples(rounds)
    const warm = new Warmup(warmup, warmupMs)
    let i = 0, got = 0, t0 = now()
    c.on("data", (d: Buffer) => {
      got += d.length
      if (got < size) return
      got -= size
      if (!warm.warming(i++, t0)) samples.add(now() - t0)
      if (samples.count === rounds) {
        emit(samples.summary())
        process.exit(0)
      }
      t0 = now()
      c.write(message)
    })
    c.write(message)
  })

// --- node:tls over a JavaScript Duplex ---------------------------------------------------------

/** A Duplex that forwards to `raw` with backpressure both ways: node:tls sees a JavaScript stream. */
const jsStream = (raw: net.Socket): Duplex => {
  const d = new Duplex({
    read: () => void raw.resume(),
    write: (chunk: Buffer, _e, cb) => void (raw.write(chunk) ? cb() : raw.once("drain", () => cb())),
    writev: (chunks: Array<{ chunk: Buffer }>, cb) => {
      raw.cork()
      let ok = true
      for (const c of chunks) ok = raw.write(c.chunk) && ok
      raw.uncork()
      if (ok) cb()
      else raw.once("drain", () => cb())
    },
    final: (cb) => void raw.end(cb)
  })
  raw.on("data", (c: Buffer) => {
    if (!d.push(c)) raw.pause()
  })
  raw.on("end", () => d.push(null))
  raw.on("error", (e) => d.destroy(e))
  return d
}

/** A net.Server whose connections become server TLSSockets over `jsStream`. */
const jsListening = (onSecure: (s: tls.TLSSocket) => void): void => {
  const secure = tls.createServer({ ...serverIdentity() }, onSecure)
  const server = net.createServer({ noDelay: true }, (raw) => secure.emit("connection", jsStream(raw)))
  server.listen({ port: 0, host: HOST, backlog: 4096 }, () => emit({ ready: true, port: (server.address() as net.AddressInfo).port }))
}

const jsConnect = (p: number, onSecure: (c: tls.TLSSocket) => void): void => {
  const raw = net.connect({ port: p, host: HOST, noDelay: true }, () => {
    const c = tls.connect({ socket: jsStream(raw), servername: SERVERNAME, ca: trusted() }, () => onSecure(c))
    c.on("error", (e) => {
      process.stderr.write(`${e.message}\n`)
      process.exit(1)
    })
  })
}

// --- main ------------------------------------------------------------------------------------

const ours = <A, E>(program: Effect.Effect<A, E, Reactor.Reactor | import("effect/Scope").Scope>) =>
  runMain(program.pipe(Effect.scoped, Effect.provide(Reactor.layer)))

const main = async (): Promise<void> => {
  const server = role === "recv" || role === "server"
  const p = server ? 0 : await port()
  const key = `${mode}/${role}/${impl}`
  switch (key) {
    case "bulk/recv/ours":
      return ours(oursRecv)
    case "bulk/send/ours":
      return ours(oursSend(p))
    case "bulk/recv/node":
      return nodeRecv(nodeListening)
    case "bulk/send/node":
      return nodeSend(nodeConnect, p)
    case "bulk/recv/nodejs":
      return nodeRecv(jsListening)
    case "bulk/send/nodejs":
      return nodeSend(jsConnect, p)
    case "rtt/server/ours":
      return ours(oursEcho)
    case "rtt/client/ours":
      return ours(oursPing(p))
    case "rtt/server/node":
      return nodeEcho(nodeListening)
    case "rtt/client/node":
      return nodePing(nodeConnect, p)
    case "rtt/server/nodejs":
      return nodeEcho(jsListening)
    case "rtt/client/nodejs":
      return nodePing(jsConnect, p)
  }
  throw new Error(`unknown --mode ${mode} / --role ${role} / --impl ${impl}`)
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
