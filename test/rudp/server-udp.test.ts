/**
 * The endpoint server on a real UDP socket over loopback: 200 peers, each
 * exchanging Delivery messages with it; a flood of 100,000 handshake packets
 * from spoofed sources (a raw socket writes the UDP headers: every packet from
 * another port) that leaves the server with no state and a flat heap while
 * real peers still connect; and interruption and Scope close leaving no fd, no
 * registration and no waiting fiber.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { Writer } from "../../src/rudp/engine/Bytes.ts"
import { FrameType } from "../../src/rudp/engine/Frame.ts"
import { patchLength, seal, TAG_BYTES, VERSION_1, writeLongHeader } from "../../src/rudp/engine/Packet.ts"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as EndpointServer from "../../src/rudp/EndpointServer.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as Prng from "../../src/testing/Prng.ts"
import { heapAfterGc } from "../hostile/gc.ts"
import { spoofer } from "../hostile/spoof.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { numbered, numberOf } from "./harness.ts"

const echo = (peer: Endpoint.Endpoint) => Stream.runForEach(peer.messages, (m) => peer.sendPayload(Guarantee.Delivery, m))

const exchange = (port: number, n: number) =>
  Effect.scoped(Effect.gen(function*() {
    const ep = yield* Endpoint.connect({ peer: `127.0.0.1:${port}`, config: { drive: "reactor", initialRtt: 20 } })
    for (let i = 0; i < n; i++) yield* ep.sendPayload(Guarantee.Delivery, numbered(i, 64))
    for (let i = 0; i < n; i++) assert.strictEqual(numberOf(yield* ep.take), i)
    yield* ep.close
  }))

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(":") + 1))

/** An Initial as a client would send it (1,200 bytes, a valid tag), from made-up ids, with an optional (forged) token. */
const initial = (rng: Prng.Prng, token: Uint8Array | undefined): Uint8Array => {
  const buf = new Uint8Array(1200)
  const w = new Writer(buf, 0, buf.length - TAG_BYTES)
  const id = () => Uint8Array.from({ length: 8 }, () => rng.int(256))
  const lengthAt = writeLongHeader(w, "Initial", VERSION_1, id(), id(), token, rng.int(1000), 4)
  w.u8(FrameType.PING)
  while (w.pos < w.end) w.u8(FrameType.PADDING)
  patchLength(buf, lengthAt, w.pos + TAG_BYTES)
  seal(buf, 0, w.pos, new DataView(buf.buffer).getUint32(lengthAt + 2))
  return buf
}

describe("EndpointServer on loopback", () => {
  checkFdLeaks()

  it.live("200 peers on one port, each echoing 20 Delivery messages", () =>
    Effect.gen(function*() {
      const server = yield* EndpointServer.make("127.0.0.1:0", { initialRtt: 20 })
      yield* Effect.forkScoped(server.run(echo))
      const port = portOf(server.localAddress)
      yield* Effect.forEach(Array.from({ length: 200 }), () => exchange(port, 20), { concurrency: 50, discard: true })
      const stats = yield* server.stats
      assert.strictEqual(stats.peersMade, 200)
      assert.isAtLeast(stats.listener.retriesSent, 200)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 60_000)

  it.live("100,000 spoofed handshake packets: no state, a flat heap, real peers still connect", () =>
    Effect.gen(function*() {
      const server = yield* EndpointServer.make("127.0.0.1:0", { initialRtt: 20 })
      yield* Effect.forkScoped(server.run(echo))
      const port = portOf(server.localAddress)
      const rng = Prng.make(2026)
      // The server answers much of the flood (stateless Retries) at the spoofed sources, and loopback
      // is shared with every other test process. Sources on 127.0.0.2, at ports below the kernel's
      // ephemeral range (32768-60999): no socket bound to 127.0.0.1, nor to port 0, gets an answer.
      const spoof = yield* spoofer("127.0.0.2")
      const flood = (count: number) =>
        Effect.gen(function*() {
          for (let sent = 0; sent < count; sent += 5000) {
            const payloads = Array.from({ length: 5000 }, (_, i) => initial(rng, i % 2 === 0 ? undefined : Uint8Array.from({ length: 29 }, () => rng.int(256))))
            const ports = Array.from({ length: 5000 }, () => 1024 + rng.int(32768 - 1024))
            yield* spoof.send(port, ports, payloads)
            // Let the server drain its socket between bursts (the kernel drops what overflows its buffer).
            yield* Effect.sleep(20)
          }
        })
      // A warm-up flood, then the measured one.
      yield* flood(10_000)
      yield* exchange(port, 5)
      const before = heapAfterGc()
      const statsBefore = yield* server.stats
      yield* flood(100_000)
      yield* Effect.sleep(200)
      const stats = yield* server.stats
      const received = stats.datagramsIn - statsBefore.datagramsIn
      assert.isAbove(received, 50_000, "the server received most of the flood")
      assert.strictEqual(stats.peers, 0, "no state for sources that only sent Initials")
      assert.strictEqual(stats.peersMade, statsBefore.peersMade, "no connection was made for a spoofed source")
      assert.isAbove(stats.listener.retriesSent - statsBefore.listener.retriesSent, received / 3, "Initials without a token got a stateless Retry")
      assert.isAbove(stats.listener.dropped["token-forged"] + stats.listener.dropped["token-malformed"], received / 3, "forged tokens were refused")
      assert.isAtMost(stats.listener.statelessBytesOut, stats.listener.statelessBytesIn / 10, "answers are a fraction of what they answer")
      // Real peers connect after the flood.
      yield* Effect.forEach([1, 2, 3], () => exchange(port, 10), { discard: true })
      const after = heapAfterGc()
      assert.isBelow(after - before, 2 * 1024 * 1024, `heap grew ${after - before} bytes`)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 120_000)

  it.live("interrupting the server and its peers mid-transfer leaves no fd, no registration, no waiting fiber", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      const before = reactor.stats()
      const fiber = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const server = yield* EndpointServer.make("127.0.0.1:0", { initialRtt: 20 })
        yield* Effect.forkScoped(server.run(echo))
        const port = portOf(server.localAddress)
        yield* Effect.forEach(Array.from({ length: 20 }), () =>
          Effect.scoped(Effect.gen(function*() {
            const ep = yield* Endpoint.connect({ peer: `127.0.0.1:${port}`, config: { drive: "reactor", initialRtt: 20 } })
            for (let i = 0; ; i++) yield* ep.sendPayload(Guarantee.Delivery, numbered(i, 500))
          })), { concurrency: "unbounded", discard: true })
      })))
      yield* Effect.sleep(300)
      yield* Fiber.interrupt(fiber)
      const after = reactor.stats()
      assert.strictEqual(after.registered, before.registered, "every socket was deregistered")
      assert.strictEqual(after.waiting, before.waiting, "no fiber is left waiting on readiness")
    }).pipe(Effect.provide(Reactor.layer)), 30_000)
})
