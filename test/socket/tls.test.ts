/**
 * TLS through `reader.upgrade` on our TCP and Unix sockets: both ends ours, and
 * against node:tls peers (clients, servers, and a STARTTLS server); handshake
 * failures and bad options as typed errors; teardown. Every test checks that no
 * fd was left behind. Certificates are made for the run (test/util/certs.ts).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as NetAddress from "effect/net/NetAddress"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import { createHash, createPrivateKey, randomBytes } from "node:crypto"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tls from "node:tls"
import { IoError } from "../../src/IoError.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Tls from "../../src/socket/Tls.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { makePki, type Pki } from "../util/certs.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { failure, lines, readUntil, serveTls, sessionOf, text, upgradeCause } from "./tls-helpers.ts"

let pki: Pki
beforeAll(() => {
  pki = makePki()
})
afterAll(() => pki.remove())

const secret = (pem: string) => Redacted.make(pem)
const serverOptions = (): Socket.TlsUpgradeOptions => ({ key: secret(pki.server.key), cert: pki.server.cert })
const portOf = (address: NetAddress.SocketAddress) => (address as NetAddress.InetAddressV4).port

/** `server` listening on a loopback port until the Scope closes; the port. */
const onLoopback = (make: () => net.Server) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<net.Server>((resolve) => {
        const server = make()
        server.listen(0, "127.0.0.1", () => resolve(server))
      })
    ),
    (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  ).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

/** A node:tls server on loopback until the Scope closes; `onSecure` gets each connection. */
const nodeTlsServer = (options: tls.TlsOptions, onSecure: (s: tls.TLSSocket) => void) =>
  onLoopback(() => tls.createServer(options, onSecure).on("tlsClientError", () => {}))

/** A node:net server on loopback until the Scope closes; `onConnection` gets each raw connection. */
const nodeNetServer = (onConnection: (raw: net.Socket) => void) => onLoopback(() => net.createServer(onConnection))

/** A node:tls client: connects, writes `send`, collects what comes back until the server ends. */
const nodeTlsClient = (options: tls.ConnectionOptions, send: string) =>
  Effect.promise(() =>
    new Promise<{ readonly received: string; readonly error: Error | undefined; readonly alpn: string | false | null }>((resolve) => {
      let received = ""
      let error: Error | undefined
      const c = tls.connect(options, () => c.write(send))
      c.on("data", (d: Buffer) => {
        received += d.toString()
        if (received.length >= send.length) c.end()
      })
      c.on("error", (e) => (error = e))
      c.on("close", () => resolve({ received, error, alpn: c.alpnProtocol }))
    })
  )

/** Our client: connect, upgrade with `options`, write `send`, read its upper-case echo. */
const ourClient = (socket: Socket.Socket, options: Socket.TlsUpgradeOptions, send = "hello tls") =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    assert.isTrue(Option.isNone(Tls.session(reader)), "no session before the upgrade")
    yield* reader.upgrade(options)
    yield* writer.write(send)
    const reply = yield* readUntil(reader.pull, send.toUpperCase())
    return { reply, session: sessionOf(reader) }
  }))

describe("TLS upgrade", () => {
  checkFdLeaks()

  describe("both ends ours", () => {
    it.live("TCP: client and server upgrade; ALPN and SNI are negotiated and seen on both sides", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const record = yield* serveTls(server, { ...serverOptions(), alpnProtocols: ["h2", "x-mio"] })
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const { reply, session } = yield* ourClient(socket, { ca: pki.ca.cert, servername: "mio.test", alpnProtocols: ["x-mio", "http/1.1"] })
        assert.strictEqual(reply, "HELLO TLS")
        assert.strictEqual(session.role, "client")
        assert.strictEqual(session.protocol, "TLSv1.3")
        assert.strictEqual(session.alpnProtocol, "x-mio")
        assert.strictEqual(session.servername, "mio.test")
        assert.isTrue(session.authorized)
        assert.isUndefined(session.authorizationError)
        assert.include(session.peerCertificate?.subject ?? "", "CN=localhost")
        const theirs = record.sessions[0]!
        assert.strictEqual(theirs.role, "server")
        assert.strictEqual(theirs.alpnProtocol, "x-mio")
        assert.strictEqual(theirs.servername, "mio.test")
        assert.isUndefined(theirs.peerCertificate, "no client certificate was asked for")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("without servername the client checks the server's IP address and sends no SNI", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const record = yield* serveTls(server, serverOptions())
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const { reply, session } = yield* ourClient(socket, { ca: pki.ca.cert })
        assert.strictEqual(reply, "HELLO TLS")
        assert.isTrue(session.authorized)
        assert.isUndefined(session.alpnProtocol)
        assert.isUndefined(record.sessions[0]!.servername)
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("STARTTLS: plaintext first, then TLS on the same connection", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            const writer = yield* socket.writer
            const line = lines(reader.pull)
            assert.strictEqual(yield* line, "STARTTLS")
            yield* writer.write("OK\r\n")
            yield* reader.upgrade(serverOptions())
            yield* writer.write(`secret: ${yield* line}\r\n`)
          })).pipe(Effect.ignore)
        ))
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const got = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.write("STARTTLS\r\n")
          assert.strictEqual(yield* lines(reader.pull), "OK")
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          yield* writer.write("tea\r\n")
          return yield* lines(reader.pull)
        }))
        assert.strictEqual(got, "secret: tea")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("Unix socket path: client and server upgrade", () =>
      Effect.gen(function*() {
        const path = join(tmpdir(), `effect-mio-tls-${process.pid}-${Date.now()}.sock`)
        const server = yield* Unix.listen(path)
        yield* serveTls(server, { ...serverOptions(), alpnProtocols: ["x-mio"] })
        const socket = yield* Unix.connect(path)
        const { reply, session } = yield* ourClient(socket, { ca: pki.ca.cert, servername: "localhost", alpnProtocols: ["x-mio"] })
        assert.strictEqual(reply, "HELLO TLS")
        assert.strictEqual(session.alpnProtocol, "x-mio")
        assert.isTrue(session.authorized)
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("4 MiB of random bytes each way arrive intact (writes, writeAll, backpressure)", () =>
      Effect.gen(function*() {
        const payload = randomBytes(4 * 2 ** 20)
        const digest = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
        const server = yield* Tcp.listen("127.0.0.1:0", { chunkSize: 16384 })
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            const writer = yield* socket.writer
            yield* reader.upgrade(serverOptions())
            for (;;) yield* writer.writeAll(yield* reader.pull)
          })).pipe(Effect.ignore)
        ))
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const echoed = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          const sending = yield* Effect.forkChild(Effect.gen(function*() {
            for (let off = 0; off < payload.length; off += 3 * 65536) {
              const end = Math.min(payload.length, off + 3 * 65536)
              // One buffer reused for every write: the bytes are taken when a write succeeds.
              yield* writer.writeAll([payload.subarray(off, off + 65536), payload.subarray(off + 65536, end)].filter((b) => b.length > 0) as never)
            }
          }))
          const out = Buffer.alloc(payload.length)
          let n = 0
          while (n < payload.length) {
            for (const c of yield* reader.pull) {
              out.set(c as Uint8Array, n)
              n += c.length
            }
          }
          yield* Fiber.join(sending)
          return out
        }))
        assert.strictEqual(digest(echoed), digest(payload))
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("writes made while the handshake runs go out encrypted once it is done, on both sides", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            const writer = yield* socket.writer
            const upgrading = yield* Effect.forkChild(reader.upgrade(serverOptions()), { startImmediately: true })
            yield* writer.write("server spoke early;")
            yield* Fiber.join(upgrading)
            yield* writer.write(`heard ${yield* readUntil(reader.pull, ";")}`)
          })).pipe(Effect.ignore)
        ))
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const got = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          const upgrading = yield* Effect.forkChild(reader.upgrade({ ca: pki.ca.cert, servername: "localhost" }), { startImmediately: true })
          yield* writer.write("client spoke early;")
          yield* Fiber.join(upgrading)
          return yield* readUntil(reader.pull, "heard client spoke early;")
        }))
        assert.strictEqual(got, "server spoke early;heard client spoke early;")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("a pull already waiting on the plaintext connection when the upgrade starts gets decrypted data", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            const writer = yield* socket.writer
            yield* reader.upgrade(serverOptions())
            yield* writer.write("decrypted for the early pull")
            yield* Effect.never
          })).pipe(Effect.ignore)
        ))
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const got = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const waiting = yield* Effect.forkChild(reader.pull, { startImmediately: true })
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          return text(yield* Fiber.join(waiting))
        }))
        assert.strictEqual(got, "decrypted for the early pull")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("a reader that does not pull stops the peer (TCP backpressure through TLS), then gets every byte", () =>
      Effect.gen(function*() {
        const total = 16 * 2 ** 20
        const chunk = new Uint8Array(2 ** 20).fill(7)
        const server = yield* Tcp.listen("127.0.0.1:0")
        const go = yield* Deferred.make<void>()
        const received = yield* Deferred.make<number>()
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            yield* reader.upgrade(serverOptions())
            yield* Deferred.await(go)
            let n = 0
            while (n < total) for (const c of yield* reader.pull) n += c.length
            yield* Deferred.succeed(received, n)
          })).pipe(Effect.ignore)
        ))
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          let sent = 0
          const sending = yield* Effect.forkChild(Effect.gen(function*() {
            while (sent < total) {
              yield* writer.write(chunk)
              sent += chunk.length
            }
          }))
          // Wait until the writer stalls: no write acknowledged for 200 ms.
          let last = -1
          while (sent !== last) {
            last = sent
            yield* Effect.sleep("200 millis")
          }
          // Loopback's socket buffers (a few MiB each way) plus about one chunk
          // queued in the receiving TLS layer hold what was acknowledged.
          assert.isBelow(sent, total / 2, `the writer stalled after ${sent} bytes`)
          yield* Deferred.succeed(go, undefined)
          yield* Fiber.join(sending)
        }))
        assert.strictEqual(yield* Deferred.await(received), total)
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("tlsServer: true makes a dialling socket answer the handshake (reverse roles)", () =>
      Effect.gen(function*() {
        // node:net accepts and then starts the TLS handshake as its client.
        let done!: (s: string) => void
        const got = new Promise<string>((r) => (done = r))
        const port = yield* nodeNetServer((raw) => {
          const c = tls.connect({ socket: raw, ca: pki.ca.cert, servername: "localhost" }, () => c.write("from the TLS client"))
          let s = ""
          c.on("data", (d: Buffer) => (s += d.toString()))
          c.on("end", () => done(s))
          c.on("error", (e) => done(`error: ${e.message}`))
        })
        const socket = yield* Tcp.connect(`127.0.0.1:${port}`, { tlsServer: true })
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* reader.upgrade(serverOptions())
          assert.strictEqual(sessionOf(reader).role, "server")
          const got = yield* readUntil(reader.pull, "client")
          yield* writer.write(got.toUpperCase())
        }))
        assert.strictEqual(yield* Effect.promise(() => got), "FROM THE TLS CLIENT")
      }).pipe(Effect.provide(Reactor.layer)))
  })

  describe("node:tls peers", () => {
    it.live("our client → node:tls server: verified, ALPN chosen by Node, SNI seen by Node", () =>
      Effect.gen(function*() {
        const seen: Array<unknown> = []
        const port = yield* nodeTlsServer({ key: pki.server.key, cert: pki.server.cert, ALPNProtocols: ["x-mio"] }, (s) => {
          seen.push(s.servername)
          s.on("data", (d: Buffer) => s.write(d.toString().toUpperCase()))
          s.on("error", () => {})
        })
        const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
        const { reply, session } = yield* ourClient(socket, { ca: pki.ca.cert, servername: "mio.test", alpnProtocols: ["h2", "x-mio"] })
        assert.strictEqual(reply, "HELLO TLS")
        assert.strictEqual(session.alpnProtocol, "x-mio")
        assert.deepStrictEqual(seen, ["mio.test"])
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("node:tls client → our server: client certificate requested and verified, ALPN, SNI", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const record = yield* serveTls(server, { ...serverOptions(), ca: pki.ca.cert, requestCert: true, alpnProtocols: ["x-mio"] })
        const r = yield* nodeTlsClient({
          port: portOf(server.address),
          host: "127.0.0.1",
          servername: "mio.test",
          ca: pki.ca.cert,
          key: pki.client.key,
          cert: pki.client.cert,
          ALPNProtocols: ["x-mio"]
        }, "from node")
        assert.isUndefined(r.error)
        assert.strictEqual(r.received, "FROM NODE")
        assert.strictEqual(r.alpn, "x-mio")
        const s = record.sessions[0]!
        assert.isTrue(s.authorized)
        assert.include(s.peerCertificate?.subject ?? "", "CN=effect-mio test client")
        assert.strictEqual(s.servername, "mio.test")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("our server with requestCert refuses a client with no certificate, or one from an unknown CA", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const record = yield* serveTls(server, { ...serverOptions(), ca: pki.ca.cert, requestCert: true })
        const base = { port: portOf(server.address), host: "127.0.0.1", servername: "localhost", ca: pki.ca.cert }
        const none = yield* nodeTlsClient(base, "x")
        const stranger = yield* nodeTlsClient({ ...base, key: pki.stranger.key, cert: pki.stranger.cert }, "x")
        assert.strictEqual(none.received, "")
        assert.strictEqual(stranger.received, "")
        assert.strictEqual(record.sessions.length, 0)
        assert.deepStrictEqual(record.errors.map((e) => upgradeCause(e).code).sort(), [
          "ERR_TLS_NO_CLIENT_CERTIFICATE",
          "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
        ])
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("our client STARTTLS → a node:net server that switches to node:tls", () =>
      Effect.gen(function*() {
        const port = yield* nodeNetServer((raw) => {
          raw.once("data", (d: Buffer) => {
            if (d.toString() !== "STARTTLS\r\n") {
              raw.destroy()
              return
            }
            raw.write("GO\r\n", () => {
              const s = new tls.TLSSocket(raw, { isServer: true, key: pki.server.key, cert: pki.server.cert })
              s.on("data", (x: Buffer) => s.end(`you said ${x.toString()}`))
              s.on("error", () => {})
            })
          })
        })
        const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
        const got = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.write("STARTTLS\r\n")
          assert.strictEqual(yield* lines(reader.pull), "GO")
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          yield* writer.write("hi")
          // The server ends with close_notify after its answer: the data, then close code 1000.
          let got = ""
          const end = yield* Effect.flip(Effect.forever(Effect.map(reader.pull, (c) => (got += text(c)))))
          assert.strictEqual(end.reason._tag, "SocketCloseError")
          assert.strictEqual((end.reason as Socket.SocketCloseError).code, 1000)
          return got
        }))
        assert.strictEqual(got, "you said hi")
      }).pipe(Effect.provide(Reactor.layer)))
    it.live("plaintext staged in the upgrade's turn leaves before the ClientHello (pipelined STARTTLS)", () =>
      Effect.gen(function*() {
        const port = yield* nodeNetServer((raw) => {
          let seen = Buffer.alloc(0)
          const onData = (d: Buffer) => {
            seen = Buffer.concat([seen, d])
            const end = seen.indexOf("\r\n")
            if (end < 0) return
            raw.off("data", onData)
            raw.pause()
            if (seen.subarray(0, end).toString() !== "STARTTLS") {
              raw.destroy()
              return
            }
            // What followed the line is the start of the handshake.
            raw.unshift(seen.subarray(end + 2))
            const s = new tls.TLSSocket(raw, { isServer: true, key: pki.server.key, cert: pki.server.cert })
            s.on("data", (x: Buffer) => s.end(`you said ${x.toString()}`))
            s.on("error", () => {})
          }
          raw.on("data", onData)
        })
        const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
        const got = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          // Two writes in one turn (the second is staged), then the upgrade at once.
          yield* writer.write("START")
          yield* writer.write("TLS\r\n")
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          yield* writer.write("hi")
          let got = ""
          yield* Effect.flip(Effect.forever(Effect.map(reader.pull, (c) => (got += text(c)))))
          return got
        }))
        assert.strictEqual(got, "you said hi")
      }).pipe(Effect.provide(Reactor.layer)))
  })

  describe("handshake failures are typed and close the connection", () => {
    const clientFailure = (identity: { key: string; cert: string }, options: Socket.TlsUpgradeOptions) =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* serveTls(server, { key: secret(identity.key), cert: identity.cert })
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        return yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const e = failure(yield* Effect.exit(reader.upgrade(options)))
          // Every later pull fails with the same error; a write fails too.
          assert.strictEqual(failure(yield* Effect.exit(reader.pull)), e)
          const writer = yield* socket.writer
          assert.strictEqual(failure(yield* Effect.exit(writer.write("x"))).reason._tag, "SocketWriteError")
          return upgradeCause(e)
        }))
      }).pipe(Effect.provide(Reactor.layer))

    it.live("a self-signed server certificate: DEPTH_ZERO_SELF_SIGNED_CERT", () =>
      Effect.map(clientFailure(pki.selfSigned, { servername: "localhost" }), (c) => assert.strictEqual(c.code, "DEPTH_ZERO_SELF_SIGNED_CERT")))

    it.live("a certificate from a CA the client does not trust: UNABLE_TO_VERIFY_LEAF_SIGNATURE", () =>
      Effect.map(clientFailure(pki.server, { ca: pki.otherCa.cert, servername: "localhost" }), (c) =>
        assert.strictEqual(c.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")))

    it.live("an expired certificate: CERT_HAS_EXPIRED", () =>
      Effect.map(clientFailure(pki.expired, { ca: pki.ca.cert, servername: "localhost" }), (c) => assert.strictEqual(c.code, "CERT_HAS_EXPIRED")))

    it.live("a certificate for another name: ERR_TLS_CERT_ALTNAME_INVALID", () =>
      Effect.map(clientFailure(pki.server, { ca: pki.ca.cert, servername: "elsewhere.test" }), (c) =>
        assert.strictEqual(c.code, "ERR_TLS_CERT_ALTNAME_INVALID")))

    it.live("rejectUnauthorized: false accepts it, and the session says why it is not verified", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* serveTls(server, { key: secret(pki.selfSigned.key), cert: pki.selfSigned.cert })
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const { reply, session } = yield* ourClient(socket, { servername: "localhost", rejectUnauthorized: false })
        assert.strictEqual(reply, "HELLO TLS")
        assert.isFalse(session.authorized)
        assert.strictEqual(session.authorizationError, "DEPTH_ZERO_SELF_SIGNED_CERT")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("a peer that does not speak TLS fails the server's upgrade", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const record = yield* serveTls(server, serverOptions())
        const reply = yield* Effect.promise(() =>
          new Promise<string>((resolve) => {
            let got = ""
            const c = net.connect(portOf(server.address), "127.0.0.1", () => c.write("GET / HTTP/1.0\r\n\r\n"))
            c.on("data", (d) => (got += d.toString("latin1")))
            c.on("error", () => {})
            c.on("close", () => resolve(got))
          })
        )
        assert.isAtMost(reply.length, 7, "at most a TLS alert came back")
        assert.strictEqual(record.errors.length, 1)
        // OpenSSL recognises a plaintext HTTP request.
        assert.strictEqual(upgradeCause(record.errors[0]).code, "ERR_SSL_HTTP_REQUEST")
      }).pipe(Effect.provide(Reactor.layer)))
  })

  describe("bad options are typed errors naming the option", () => {
    /** Upgrades a fresh client connection with `options` (as client, or as server). */
    const attempt = (options: unknown, tlsServer = false) =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* Effect.forkScoped(server.run((s) => Effect.scoped(Effect.andThen(s.reader, Effect.never))))
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`, { tlsServer })
        return yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          return upgradeCause(failure(yield* Effect.exit(reader.upgrade(options as Socket.TlsUpgradeOptions))))
        }))
      }).pipe(Effect.provide(Reactor.layer))

    const invalid = (options: unknown, names: string, tlsServer = false) =>
      Effect.map(attempt(options, tlsServer), (c) => {
        assert.instanceOf(c.cause, IoError)
        assert.strictEqual(c.code, "InvalidInput")
        assert.include(c.message, names)
        return c
      })

    it.live("a server upgrade needs key and cert; a client gives both or neither", () =>
      Effect.gen(function*() {
        yield* invalid({ cert: pki.server.cert }, "needs both key and cert", true)
        yield* invalid({ key: secret(pki.client.key) }, "key and cert are given together")
      }))

    it.live("a key that is not Redacted is refused without being shown", () =>
      Effect.map(invalid({ key: pki.client.key, cert: pki.client.cert }, "key is a Redacted"), (c) => {
        assert.include(c.message, "not a string")
        assert.notInclude(c.message, "PRIVATE KEY")
      }))

    it.live("servername, alpnProtocols, cert, ca, passphrase, requestCert, rejectUnauthorized, options", () =>
      Effect.gen(function*() {
        yield* invalid({ servername: 42 }, "servername is a host name")
        yield* invalid({ servername: "" }, "servername is a host name")
        yield* invalid({ alpnProtocols: "x-mio" }, "alpnProtocols is an array")
        yield* invalid({ alpnProtocols: [""] }, "alpnProtocols is an array")
        yield* invalid({ alpnProtocols: ["x".repeat(256)] }, "alpnProtocols is an array")
        yield* invalid({ ca: 7 }, "ca is a PEM string")
        yield* invalid({ cert: [], key: secret(pki.client.key) }, "cert is a PEM string")
        yield* invalid({ passphrase: "open sesame" }, "passphrase is a Redacted string, not a string")
        yield* invalid({ requestCert: "yes" }, "requestCert")
        yield* invalid({ rejectUnauthorized: 0 }, "rejectUnauthorized")
        yield* invalid("tls please", "options")
      }))

    it.live("a certificate that is not PEM, or a wrong passphrase: SocketUpgradeError with node:tls's reason", () =>
      Effect.gen(function*() {
        const notPem = yield* attempt({ key: secret(pki.server.key), cert: "not a certificate" }, true)
        assert.notInstanceOf(notPem.cause, IoError)
        const locked = createPrivateKey(pki.server.key).export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "right" })
        const wrong = yield* attempt({ key: secret(locked.toString()), cert: pki.server.cert, passphrase: secret("wrong") }, true)
        assert.match(wrong.message, /bad decrypt|BAD_DECRYPT|decrypt/i)
      }))

    it.live("tlsServer that is not a boolean fails connect and listen with InvalidInput", () =>
      Effect.gen(function*() {
        const e = failure(yield* Effect.exit(Tcp.connect("127.0.0.1:1", { tlsServer: "yes" as never })))
        assert.strictEqual(e.reason._tag, "SocketOpenError")
        assert.include(String((e.reason as Socket.SocketOpenError).cause), "tlsServer")
        const l = failure(yield* Effect.exit(Effect.scoped(Unix.listen("@effect-mio-tls-bad", { tlsServer: 1 as never }))))
        assert.include(String(l.reason.cause), "tlsServer")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("a second upgrade, or one after a CloseEvent, fails", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* serveTls(server, serverOptions())
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          const again = upgradeCause(failure(yield* Effect.exit(reader.upgrade({ ca: pki.ca.cert }))))
          assert.strictEqual(again.code, "AlreadyExists")
        }))
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.write(new Socket.CloseEvent(4000, "bye"))
          const closed = upgradeCause(failure(yield* Effect.exit(reader.upgrade({ ca: pki.ca.cert }))))
          assert.strictEqual(closed.code, "Closed")
        }))
      }).pipe(Effect.provide(Reactor.layer)))
  })

  describe("lifecycle", () => {
    it.live("closing the reader's Scope under a waiting pull fails it with close code 1006", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        yield* serveTls(server, serverOptions())
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const scope = yield* Scope.make()
        const reader = yield* Scope.provide(socket.reader, scope)
        yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
        const waiting = yield* Effect.forkChild(Effect.flip(reader.pull), { startImmediately: true })
        yield* Scope.close(scope, Exit.void)
        const e = yield* Fiber.join(waiting)
        assert.strictEqual(e.reason._tag, "SocketCloseError")
        assert.strictEqual((e.reason as Socket.SocketCloseError).code, 1006)
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("a CloseEvent ends the TLS connection: the reader fails with its code, the peer sees the end", () =>
      Effect.gen(function*() {
        const ended: Array<string> = []
        const port = yield* nodeTlsServer({ key: pki.server.key, cert: pki.server.cert }, (s) => {
          s.on("close", () => ended.push("closed"))
          s.on("error", () => {})
          s.resume()
        })
        const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
        const e = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" })
          yield* writer.write(new Socket.CloseEvent(4001, "done"))
          return yield* Effect.flip(reader.pull)
        }))
        assert.strictEqual(e.reason._tag, "SocketCloseError")
        assert.strictEqual((e.reason as Socket.SocketCloseError).code, 4001)
        assert.strictEqual((e.reason as Socket.SocketCloseError).closeReason, "done")
        yield* Effect.promise(() => new Promise<void>((r) => setImmediate(r)))
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("a handshake nobody answers is bounded by Effect.timeout; the connection is released", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        // Accepts and reads, never answers.
        yield* Effect.forkScoped(server.run((s) => Effect.scoped(Effect.flatMap(s.reader, (r) => Effect.forever(r.pull)))).pipe(Effect.ignore))
        const socket = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`)
        const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          yield* reader.upgrade({ ca: pki.ca.cert, servername: "localhost" }).pipe(Effect.timeout("200 millis"))
        })))
        assert.isTrue(Exit.isFailure(exit))
      }).pipe(Effect.provide(Reactor.layer)))
  })
})
