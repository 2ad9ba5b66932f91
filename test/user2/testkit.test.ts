/**
 * The test kit as a user meets it through `effect-mio/testing` only. Each test
 * here failed before the fix it names.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Reactor, UdpSocket } from "effect-mio"
import { Relay } from "effect-mio/testing"
import * as dgram from "node:dgram"
import { checkFdLeaks } from "../util/fds.ts"

/** A node:dgram socket bound on loopback, closed with the Scope. */
const nodeUdp = (port = 0) =>
  Effect.acquireRelease(
    Effect.callback<dgram.Socket>((resume) => {
      const socket = dgram.createSocket("udp4")
      socket.bind(port, "127.0.0.1", () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.callback<void>((resume) => void socket.close(() => resume(Effect.void)))
  )

/** Waits (bounded) until `ready()` holds. */
const until = (ready: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !ready(); i++) yield* Effect.sleep("5 millis")
  })

describe("user audit: the test kit", () => {
  checkFdLeaks()

  // Before: the first datagram reached a target that was not listening yet; the
  // kernel's ICMP "port unreachable" came back to the client's upstream socket as
  // ECONNREFUSED, and that ended the upstream's receive loop. Every reply of the
  // target once it was up was then lost, and no counter said so.
  it.live("a relay whose target starts late (or restarts) still carries the target's replies", () =>
    Effect.gen(function*() {
      // a free port: bound by a socket closed at once
      const port = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        const a = s.localAddr()
        return a instanceof Error || a._tag !== "InetAddressV4" ? 0 : a.port
      }))
      const relay = yield* Relay.make({ target: `127.0.0.1:${port}` })
      const relayPort = relay.address._tag === "InetAddressV4" ? relay.address.port : 0
      const client = yield* nodeUdp()
      const replies: Array<string> = []
      client.on("message", (m) => replies.push(String(m)))

      client.send("early", relayPort, "127.0.0.1")
      yield* until(() => relay.stats().forward.delivered === 1)
      yield* Effect.sleep("20 millis") // the ICMP report reaches the upstream socket

      const target = yield* nodeUdp(port)
      target.on("message", (m, from) => target.send(`echo ${m}`, from.port, from.address))
      client.send("late", relayPort, "127.0.0.1")
      yield* until(() => replies.length > 0)
      assert.deepStrictEqual(replies, ["echo late"])
      assert.strictEqual(relay.stats().backward.delivered, 1)
    }).pipe(Effect.provide(Reactor.layer)))
})
