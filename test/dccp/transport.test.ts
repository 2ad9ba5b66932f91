/**
 * The DCCP-UDP transport's receive loop over a real UDP socket on loopback. It
 * stops trying `recvmmsg` after a batch shorter than `RECV_BATCH` (the socket
 * was empty) and waits for the next readiness event; a full batch is followed
 * by another try at once. Both halves matter: a loop that waited after a full
 * batch would strand the datagrams still queued, since no new edge comes for
 * them.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { RECV_BATCH } from "../../src/dccp/transport/Transport.ts"
import * as UdpTransport from "../../src/dccp/transport/Udp.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** Waits (without blocking the event loop) until `done()` holds, at most 5 s. */
const until = (done: () => boolean, what: () => string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5000
    while (!done()) {
      if (Date.now() > deadline) return assert.fail(`timed out waiting for ${what()}`)
      yield* Effect.sleep("1 millis")
    }
  })

describe("DCCP-UDP transport: receive loop", () => {
  checkFdLeaks()

  it.live("a burst of several full batches queued before the loop starts all arrives, and a later datagram wakes the loop", () =>
    Effect.gen(function*() {
      const transport = yield* UdpTransport.make({ bind: "127.0.0.1:0", recvBufferSize: 1 << 20 })
      const to = SocketAddress.format(transport.localAddress)
      const sender = yield* UdpSocket.bind("127.0.0.1:0")
      const burst = 3 * RECV_BATCH + 5
      for (let i = 0; i < burst; i++) {
        const r = sender.sendTo(Uint8Array.of(i >> 8, i & 0xff, 0, 0), to)
        assert.strictEqual(r, 4, `datagram ${i} sent`)
      }
      const seen: Array<number> = []
      const loop = yield* Effect.forkChild(transport.receive((bytes) => {
        seen.push((bytes[0]! << 8) | bytes[1]!)
      }, () => {}))
      yield* until(() => seen.length >= burst, () => `${burst} datagrams (saw ${seen.length})`)
      assert.deepStrictEqual(seen, Array.from({ length: burst }, (_, i) => i))

      // The last batch was short: the loop is parked; a new datagram is a new event.
      yield* Effect.sleep("20 millis")
      assert.strictEqual(seen.length, burst, "nothing more arrived")
      assert.strictEqual(sender.sendTo(Uint8Array.of(0xff, 0xff, 0, 0), to), 4)
      yield* until(() => seen.length === burst + 1, () => "the datagram sent after the loop parked")
      assert.strictEqual(seen[burst], 0xffff)
      yield* Fiber.interrupt(loop)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
