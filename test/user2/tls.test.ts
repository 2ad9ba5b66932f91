/**
 * TLS at the fiber level as a user meets it through `effect-mio` only, against
 * peers we did not write (node:net as a client that gives up, `openssl
 * s_server` with a certificate our client must refuse). Each test here failed
 * before the fix it names.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Socket from "effect/socket/Socket"
import { Reactor, Tcp } from "effect-mio"
import * as net from "node:net"
import { makePki, type Pki } from "../util/certs.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { openssl } from "../util/openssl.ts"
import { freePort } from "../util/peers.ts"

let pki: Pki
beforeAll(() => {
  pki = makePki()
})
afterAll(() => pki.remove())

/** The first bytes of a TLS 1.x ClientHello record: its header and the start of the handshake header. */
const partialClientHello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])

/** A node:net client that sends `bytes` (if any), then ends its side. */
const givingUpClient = (port: number, bytes: Uint8Array | undefined) =>
  Effect.acquireRelease(
    Effect.callback<net.Socket>((resume) => {
      const c = net.connect(port, "127.0.0.1", () => {
        if (bytes !== undefined) c.write(bytes)
        c.end()
        resume(Effect.succeed(c))
      })
      c.on("error", () => {})
    }),
    (c) => Effect.sync(() => c.destroy())
  )

/** The reason of a failed upgrade's `SocketError`. */
const reasonOf = (exit: Exit.Exit<unknown, Socket.SocketError>) => {
  assert.isTrue(Exit.isFailure(exit), "the upgrade succeeded")
  const fail = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(fail, "the upgrade did not fail with an error")
  return fail!._tag === "Fail" ? fail!.error : (undefined as never)
}

describe("user audit: TLS", () => {
  checkFdLeaks()

  // Before: the server's upgrade waited for node:tls's 120-second handshake
  // timeout: the cipher stream is half-open, and nothing noticed that a peer
  // that has ended its side can never finish the handshake.
  for (const [what, bytes] of [["half a ClientHello", partialClientHello], ["nothing", undefined]] as const) {
    it.live(`our server's upgrade fails at once when the client sends ${what} and ends its side`, () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const outcomes: Array<Exit.Exit<void, Socket.SocketError>> = []
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            outcomes.push(yield* Effect.exit(reader.upgrade({ key: Redacted.make(pki.server.key), cert: pki.server.cert })))
          }))
        ))
        yield* givingUpClient((server.address as NetAddress.InetAddress).port, bytes)
        for (let i = 0; i < 250 && outcomes.length === 0; i++) yield* Effect.sleep("20 millis")
        assert.strictEqual(outcomes.length, 1, "the upgrade neither failed nor succeeded within 5 s")
        const error = reasonOf(outcomes[0]!)
        assert.strictEqual(error.reason._tag, "SocketUpgradeError")
        assert.strictEqual((error.reason as { cause: { code?: string } }).cause.code, "ECONNRESET")
      }).pipe(Effect.provide(Reactor.layer)))
  }

  // Before: `error.message` was Effect's fixed "An error occurred during TLS
  // upgrade" for every failed upgrade — the reason (a self-signed certificate,
  // a peer gone) only in the cause — where every other failure of our sockets
  // says the phase and the cause ("Open failed: connect ECONNREFUSED …").
  it.live("a refused certificate's upgrade error says why in its message (openssl s_server, self-signed)", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const peer = yield* openssl(["s_server", "-accept", `127.0.0.1:${port}`, "-cert", pki.selfSigned.certFile, "-key", pki.selfSigned.keyFile, "-naccept", "1"])
      yield* peer.waitFor("ACCEPT")
      const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        yield* reader.upgrade({ servername: "localhost" })
      })))
      const error = reasonOf(exit)
      assert.strictEqual(error.reason._tag, "SocketUpgradeError")
      assert.match(error.message, /^Upgrade failed: self[- ]signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/)
      yield* Effect.promise(() => peer.exited)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("a bad option's upgrade error names it in its message", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const socket = yield* Tcp.connect(`127.0.0.1:${(server.address as NetAddress.InetAddress).port}`)
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        yield* reader.upgrade({ servername: "" })
      })))
      assert.match(reasonOf(exit).message, /^Upgrade failed: upgrade: servername/)
    }).pipe(Effect.provide(Reactor.layer)))
})
