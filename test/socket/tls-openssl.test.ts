/**
 * TLS through `reader.upgrade` against peers we did not write: `openssl s_server`
 * (our client) and `openssl s_client` (our server), over TCP and Unix sockets —
 * ALPN, SNI, client certificates, STARTTLS (`s_client -starttls smtp`) and a
 * certificate our client must refuse. Every test checks that no fd was left
 * behind.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as NetAddress from "effect/net/NetAddress"
import * as Redacted from "effect/Redacted"
import type * as Socket from "effect/socket/Socket"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { makePki, type Pki } from "../util/certs.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { openssl } from "../util/openssl.ts"
import { freePort } from "../util/peers.ts"
import { failure, lines, readUntil, serveTls, sessionOf, upgradeCause } from "./tls-helpers.ts"

let pki: Pki
beforeAll(() => {
  pki = makePki()
})
afterAll(() => pki.remove())

const portOf = (address: NetAddress.SocketAddress) => (address as NetAddress.InetAddressV4).port
let paths = 0
/**
 * A socket path short enough for `openssl s_server -unix`: OpenSSL 3.0 fails
 * ("addr_strings: system lib") on a path of 32 characters or more.
 */
const socketPath = () => join(tmpdir(), `mio-${process.pid % 100000}-${++paths}.sock`)

/** `openssl s_server -rev` (answers each line reversed) on `at` (`-accept host:port` or `-unix path`). */
const sServer = (at: ReadonlyArray<string>, extra: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const peer = yield* openssl(["s_server", ...at, "-cert", pki.server.certFile, "-key", pki.server.keyFile, "-rev", "-naccept", "1", ...extra])
    yield* peer.waitFor("ACCEPT")
    return peer
  })

/** Our client: upgrade, send a line, read the reversed line back. */
const ask = (socket: Socket.Socket, options: Socket.TlsUpgradeOptions, line = "hello tls") =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* reader.upgrade(options)
    yield* writer.write(`${line}\n`)
    const reply = yield* readUntil(reader.pull, "\n")
    return { reply: reply.trim(), session: sessionOf(reader) }
  }))

/** `openssl s_client` sending `stdin`, until it exits (our server ends the connection). */
const sClient = (at: ReadonlyArray<string>, stdin: string, extra: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const peer = yield* openssl(["s_client", ...at, "-CAfile", pki.ca.certFile, "-verify_return_error", "-ign_eof", ...extra], { stdin })
    const code = yield* Effect.promise(() => peer.exited)
    return { code, output: peer.output() }
  })

/** Our server: upgrade each connection with `options`, answer one line in upper case, end (close_notify). */
const answerOnce = (server: { run: (h: (s: Socket.Socket) => Effect.Effect<void>) => Effect.Effect<never, unknown> }, options: Socket.TlsUpgradeOptions) => {
  const record = { sessions: [] as Array<ReturnType<typeof sessionOf>>, errors: [] as Array<unknown> }
  return Effect.as(
    Effect.forkScoped(server.run((socket) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        const upgraded = yield* Effect.exit(reader.upgrade(options))
        if (Exit.isFailure(upgraded)) {
          record.errors.push(failure(upgraded))
          return
        }
        record.sessions.push(sessionOf(reader))
        const line = yield* lines(reader.pull)
        yield* writer.write(`${line.toUpperCase()}\n`)
      })).pipe(Effect.ignore)
    )),
    record
  )
}

const serverOptions = (): Socket.TlsUpgradeOptions => ({ key: Redacted.make(pki.server.key), cert: pki.server.cert })

describe("TLS against openssl", () => {
  checkFdLeaks()

  it.live("our client → openssl s_server: verified, ALPN chosen by openssl", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      yield* sServer(["-accept", `127.0.0.1:${port}`], ["-alpn", "x-mio,h2"])
      const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
      const { reply, session } = yield* ask(socket, { ca: pki.ca.cert, servername: "mio.test", alpnProtocols: ["h2", "x-mio"] })
      assert.strictEqual(reply, "slt olleh")
      assert.isTrue(session.authorized)
      assert.strictEqual(session.protocol, "TLSv1.3")
      // openssl picks by its own preference order.
      assert.strictEqual(session.alpnProtocol, "x-mio")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("SNI: openssl s_server serves other.test's certificate only to a client that asks for other.test", () =>
    Effect.gen(function*() {
      const sni = ["-servername", "other.test", "-cert2", pki.sni.certFile, "-key2", pki.sni.keyFile]
      for (const [name, subject] of [["other.test", "CN=other.test"], ["mio.test", "CN=localhost"]] as const) {
        const port = yield* freePort()
        yield* Effect.scoped(Effect.gen(function*() {
          yield* sServer(["-accept", `127.0.0.1:${port}`], sni)
          const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
          const { reply, session } = yield* ask(socket, { ca: pki.ca.cert, servername: name })
          assert.strictEqual(reply, "slt olleh")
          assert.include(session.peerCertificate?.subject ?? "", subject, name)
          assert.strictEqual(session.servername, name)
        }))
      }
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("our client refuses openssl s_server's self-signed certificate (typed), and the connection ends", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const peer = yield* openssl(["s_server", "-accept", `127.0.0.1:${port}`, "-cert", pki.selfSigned.certFile, "-key", pki.selfSigned.keyFile, "-rev", "-naccept", "1"])
      yield* peer.waitFor("ACCEPT")
      const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
      const exit = yield* Effect.exit(ask(socket, { servername: "localhost" }))
      assert.strictEqual(upgradeCause(failure(exit)).code, "DEPTH_ZERO_SELF_SIGNED_CERT")
      // s_server saw the alert and the connection end: with -naccept 1 it exits.
      yield* Effect.promise(() => peer.exited)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("openssl s_client → our server: verified by openssl, ALPN and SNI", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const record = yield* answerOnce(server, { ...serverOptions(), alpnProtocols: ["x-mio"] })
      const { code, output } = yield* sClient(["-connect", `127.0.0.1:${portOf(server.address)}`], "ping\n", [
        "-servername", "mio.test", "-alpn", "h2,x-mio"
      ])
      assert.strictEqual(code, 0, output)
      assert.include(output, "PING")
      assert.include(output, "ALPN protocol: x-mio")
      assert.include(output, "Verify return code: 0 (ok)")
      assert.strictEqual(record.sessions[0]!.servername, "mio.test")
      assert.strictEqual(record.sessions[0]!.alpnProtocol, "x-mio")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("openssl s_client with a client certificate → our server with requestCert; a stranger's is refused", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const record = yield* answerOnce(server, { ...serverOptions(), ca: pki.ca.cert, requestCert: true })
      const at = ["-connect", `127.0.0.1:${portOf(server.address)}`, "-servername", "localhost"]
      const ok = yield* sClient(at, "mine\n", ["-cert", pki.client.certFile, "-key", pki.client.keyFile])
      assert.include(ok.output, "MINE")
      assert.include(record.sessions[0]!.peerCertificate?.subject ?? "", "CN=effect-mio test client")
      assert.isTrue(record.sessions[0]!.authorized)
      const refused = yield* sClient(at, "theirs\n", ["-cert", pki.stranger.certFile, "-key", pki.stranger.keyFile])
      assert.notInclude(refused.output, "THEIRS")
      assert.strictEqual(upgradeCause(record.errors[0]).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("openssl s_client -starttls smtp → our server: a plaintext dialogue, then TLS on the same connection", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const seen: Array<string> = []
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          const line = lines(reader.pull)
          yield* writer.write("220 mio.test ESMTP\r\n")
          seen.push(yield* line)
          yield* writer.write("250-mio.test\r\n250 STARTTLS\r\n")
          seen.push(yield* line)
          yield* writer.write("220 go ahead\r\n")
          yield* reader.upgrade(serverOptions())
          const secret = yield* line
          yield* writer.write(`250 ${secret.toUpperCase()}\r\n`)
        })).pipe(Effect.ignore)
      ))
      const { output } = yield* sClient(["-connect", `127.0.0.1:${portOf(server.address)}`], "quiet please\n", [
        "-starttls", "smtp", "-servername", "mio.test"
      ])
      assert.match(seen[0]!, /^EHLO /)
      assert.strictEqual(seen[1], "STARTTLS")
      assert.include(output, "Verify return code: 0 (ok)")
      assert.include(output, "250 QUIET PLEASE")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("Unix sockets: our client → openssl s_server -unix, openssl s_client -unix → our server", () =>
    Effect.gen(function*() {
      const theirs = socketPath()
      yield* sServer(["-unix", theirs])
      const socket = yield* Unix.connect(theirs)
      const { reply } = yield* ask(socket, { ca: pki.ca.cert, servername: "localhost" }, "over unix")
      assert.strictEqual(reply, "xinu revo")

      const ours = socketPath()
      const server = yield* Unix.listen(ours)
      yield* answerOnce(server, serverOptions())
      const { output } = yield* sClient(["-unix", ours], "unix too\n", ["-servername", "localhost"])
      assert.include(output, "UNIX TOO")
      assert.include(output, "Verify return code: 0 (ok)")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("serveTls echoes for openssl s_client too (several lines, then s_client's close_notify)", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      yield* serveTls(server, serverOptions())
      const peer = yield* openssl(
        ["s_client", "-connect", `127.0.0.1:${portOf(server.address)}`, "-CAfile", pki.ca.certFile, "-verify_return_error", "-servername", "localhost", "-quiet"],
        { stdin: "one\ntwo\n" }
      )
      yield* peer.waitFor("TWO")
      assert.include(peer.output(), "ONE")
    }).pipe(Effect.provide(Reactor.layer)))
})
