/**
 * `Endpoint` over `SimNet` (virtual time): the crate's README sequence with the
 * assertions its tests lacked, its `bad_udp` test (a transport that duplicates
 * and shuffles) checking every guarantee, both ways of driving an endpoint,
 * typed errors, close and peer-dead detection.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import type { UdpLike } from "../../src/rudp/UdpLike.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import * as Prng from "../../src/testing/Prng.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { numbered, numberOf } from "./harness.ts"
import { inVirtualTime } from "./virtual.ts"
import { parse, payloadOf, verify, workload } from "./workload.ts"

const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array | undefined) => b === undefined ? undefined : new TextDecoder().decode(b)

/**
 * Calls `maintain` on both endpoints until `done`, at most `rounds` times (user-driven endpoints
 * progress only when called), moving the TestClock 0.1 ms a round: senders pace.
 */
const pumpUntil = (a: Endpoint.Endpoint, b: Endpoint.Endpoint, done: () => boolean, rounds = 10_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < rounds && !done(); i++) {
      yield* a.maintain
      yield* b.maintain
      yield* TestClock.adjust("100 micros")
    }
    assert.isTrue(done(), "the condition was reached")
  })

describe("the crate's README, through our API", () => {
  it.effect("write + sendWritten(Order), sendPayload(Delivery), recv, asSet, maintain — every step checked", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [udpA, udpB] = yield* net.pair()
      const a = yield* Endpoint.make(udpA)
      const b = yield* Endpoint.make(udpB)
      // write a single payload "Hello, there."
      yield* a.write(text("Hello"))
      yield* a.write(text(", there."))
      yield* a.sendWritten(Guarantee.Order)
      // the convenient form
      yield* a.sendPayload(Guarantee.Delivery, text("General Kenobi!"))
      // try to receive: nothing can be there yet (the handshake has not happened: nothing runs between calls)
      assert.isUndefined(yield* b.recv, "Nothing ready yet!")
      // both ends progress only when called: maintain until b has both messages
      const got: Array<string> = []
      for (let i = 0; i < 10 && got.length < 2; i++) {
        yield* a.maintain
        const m = yield* b.recv
        if (m !== undefined) got.push(str(m)!)
      }
      assert.deepStrictEqual(got, ["Hello, there.", "General Kenobi!"], "Order then Delivery, in the order sent")
      // three payloads as one set: the peer may yield them in any order with respect to one another
      yield* a.asSet((s) =>
        Effect.gen(function*() {
          yield* s.sendPayload(Guarantee.Delivery, text("A"))
          yield* s.sendPayload(Guarantee.None, text("B"))
          yield* s.sendPayload(Guarantee.Order, text("C"))
        })
      )
      yield* a.sendPayload(Guarantee.Delivery, text("after the set"))
      yield* a.maintain
      const rest: Array<string> = []
      for (let m = yield* b.recv; m !== undefined; m = yield* b.recv) rest.push(str(m)!)
      assert.sameMembers(rest.slice(0, 3), ["A", "B", "C"], "the set, in any order")
      assert.strictEqual(rest[3], "after the set", "sets are ordered among each other")
      // maintain: acknowledgements go out; the sender forgets what was acknowledged
      yield* b.maintain
      yield* a.maintain
      const stats = yield* a.stats
      assert.strictEqual(stats.unacked, 0, "every Delivery message was acknowledged")
      assert.strictEqual(stats.stats.messagesSent.Delivery, 3)
    }).pipe(SimNet.traceOnFailure(), Effect.provide(SimNet.layer({ seed: 1 }))))
})

/**
 * The crate's `BadUdp`: a connected pair whose datagrams are duplicated and
 * delivered in shuffled order, but never dropped.
 */
const badUdpPair = (seed: number): readonly [UdpLike<never>, UdpLike<never>] => {
  const rng = Prng.make(seed)
  const inbox: [Array<Uint8Array>, Array<Uint8Array>] = [[], []]
  const side = (me: 0 | 1): UdpLike<never> => ({
    send: (payload) =>
      Effect.sync(() => {
        const peer = inbox[me === 0 ? 1 : 0]
        peer.push(payload.slice())
        if (rng.float() < 0.3) peer.push(payload.slice())
      }),
    tryRecv: (buffer) =>
      Effect.sync(() => {
        const q = inbox[me]
        if (q.length === 0) return undefined
        // shuffle: any queued datagram may come next
        const d = q.splice(rng.int(q.length), 1)[0]!
        buffer.set(d)
        return d.length
      }),
    readable: Effect.void
  })
  return [side(0), side(1)]
}

describe("the crate's bad_udp test, with assertions", () => {
  it.effect("duplicating, shuffling transport: Delivery exactly once in order, None exactly once, Order at most once and in order", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3, 4, 5]) {
        const [ua, ub] = badUdpPair(seed)
        const a = yield* Endpoint.make(ua, { initialRtt: 5 })
        const b = yield* Endpoint.make(ub, { initialRtt: 5 })
        const plan = workload(seed, 200, { largeEvery: 0.05 })
        for (const group of plan) {
          if (group.length === 1) yield* a.sendPayload(group[0]!.tier, payloadOf(group[0]!))
          else yield* a.asSet((s) => Effect.forEach(group, (m) => s.sendPayload(m.tier, payloadOf(m)), { discard: true }))
        }
        const received: Array<{ payload: Uint8Array }> = []
        const deliveryCount = plan.flat().filter((m) => m.tier === "Delivery").length
        yield* pumpUntil(a, b, () => {
          for (;;) {
            const m = Effect.runSync(b.recvCopy)
            if (m === undefined) break
            received.push({ payload: m })
          }
          return received.filter((r) => parse(r.payload).tier === 2).length === deliveryCount && Effect.runSync(a.stats).unacked === 0
        })
        const { delivered, sent } = verify(received, plan, `bad_udp seed ${seed}`)
        const rx = yield* b.stats
        assert.strictEqual(delivered.Delivery, sent.Delivery, "every Delivery message, once, in order")
        assert.strictEqual(delivered.None, sent.None, "nothing is dropped by this transport: every None message arrives exactly once")
        assert.strictEqual(delivered.Order + rx.inbox.drops["lateOrder"]!, sent.Order, "an Order message is delivered or, having come late, dropped and counted")
        assert.isAbove(rx.stats.dropped.duplicate, 0, "duplicates were dropped")
      }
    }).pipe(Effect.scoped))
})

describe("Endpoint over SimNet", () => {
  const bothModes = ["user", "reactor"] as const
  for (const drive of bothModes) {
    it.effect(`${drive}-driven: 1,500 sends of mixed messages through 10 % loss, duplication and reordering`, () =>
      Effect.gen(function*() {
        const net = yield* SimNet.SimNet
        const plan = workload(17, 1500)
        const deliveryCount = plan.flat().filter((m) => m.tier === "Delivery").length
        const received: Array<{ payload: Uint8Array }> = []
        // The endpoints live inside the virtual-time loop: their graceful close at the end of
        // the Scope needs the network, which moves only while the clock does.
        const stats = yield* inVirtualTime(Effect.scoped(Effect.gen(function*() {
          const [ua, ub] = yield* net.pair()
          const a = yield* Endpoint.make(ua, { drive, initialRtt: 50, grouping: true })
          const b = yield* Endpoint.make(ub, { drive, initialRtt: 50 })
          const sender = Effect.forEach(plan, (group) =>
            group.length === 1
              ? a.sendPayload(group[0]!.tier, payloadOf(group[0]!))
              : a.asSet((s) => Effect.forEach(group, (m) => s.sendPayload(m.tier, payloadOf(m)), { discard: true })), { discard: true })
          const receiver = Effect.gen(function*() {
            let deliveries = 0
            while (deliveries < deliveryCount) {
              const m = yield* b.take
              received.push({ payload: m })
              if (parse(m).tier === 2) deliveries++
            }
          })
          // A user-driven sender makes progress only when called: maintain while the receiver waits.
          const keepSending = drive === "user" ? Effect.forever(Effect.andThen(a.maintain, Effect.sleep(1))) : Effect.never
          yield* Effect.raceFirst(Effect.all([sender, receiver], { concurrency: 2 }), keepSending)
          return yield* a.stats
        })))
        const { delivered, sent } = verify(received, plan, `${drive}-driven`)
        assert.strictEqual(delivered.Delivery, sent.Delivery)
        assert.isAbove(stats.stats.packetsLost, 0)
        assert.isBelow(stats.stats.datagramsSent, plan.flat().length, "small messages were grouped into shared datagrams")
      }).pipe(
        SimNet.traceOnFailure(),
        Effect.provide(SimNet.layer({ seed: 5, latency: "10 millis", jitter: "2 millis", loss: 0.1, duplicate: 0.02, reorder: 0.02 }))
      ))
  }

  it.effect("oversize messages and oversize writes fail with MessageTooLarge, naming the sizes", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [ua] = yield* net.pair()
      const a = yield* Endpoint.make(ua, { maxMessageSize: 1000 })
      const e = yield* Effect.flip(a.sendPayload(Guarantee.Delivery, new Uint8Array(1001)))
      assert.strictEqual(e.kind, "MessageTooLarge")
      assert.deepStrictEqual([e.size, e.limit], [1001, 1000])
      yield* a.write(new Uint8Array(600))
      const w = yield* Effect.flip(a.write(new Uint8Array(600)))
      assert.deepStrictEqual([w.kind, w.size], ["MessageTooLarge", 1200])
      const c = yield* Effect.flip(Endpoint.make(ua, { mtu: 100 }))
      assert.strictEqual(c.kind, "InvalidConfig")
      assert.include(c.detail, "mtu")
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer())))

  it.effect("asSet with written, unsent bytes: fail (default), clear, or into the set", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [ua, ub] = yield* net.pair()
      const a = yield* Endpoint.make(ua)
      yield* a.write(text("pending"))
      const e = yield* Effect.flip(a.asSet(() => Effect.void))
      assert.strictEqual(e.kind, "WrittenNotSent")
      const [uc, ud] = yield* net.pair()
      const c = yield* Endpoint.make(uc, { newSetUnsent: "into-set" })
      const d = yield* Endpoint.make(ud)
      yield* c.write(text("pre"))
      yield* c.asSet((s) => Effect.andThen(s.write(text("fix")), s.sendWritten(Guarantee.Delivery)))
      yield* pumpUntil(c, d, () => Effect.runSync(d.stats).received.ready > 0)
      assert.strictEqual(str(yield* d.recv), "prefix")
      void ub
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer())))

  it.effect("trySendPayload answers WouldBlock when the send queue is full; sendPayload waits", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [ua, ub] = yield* net.pair()
      const a = yield* Endpoint.make(ua, { sendQueueMessages: 3 })
      const b = yield* Endpoint.make(ub)
      for (let i = 0; i < 3; i++) assert.strictEqual(yield* a.trySendPayload(Guarantee.Delivery, numbered(i)), i)
      assert.strictEqual(yield* a.trySendPayload(Guarantee.Delivery, numbered(3)), WouldBlock)
      // sendPayload waits, driving the (user-driven) endpoint until there is room.
      const fiber = yield* Effect.forkChild(a.sendPayload(Guarantee.Delivery, numbered(3)))
      yield* pumpUntil(a, b, () => fiber.pollUnsafe() !== undefined)
      assert.isTrue(Exit.isSuccess(fiber.pollUnsafe()!))
      const got: Array<number> = []
      yield* pumpUntil(a, b, () => {
        for (let m = Effect.runSync(b.recv); m !== undefined; m = Effect.runSync(b.recv)) got.push(numberOf(m))
        return got.length === 4
      })
      assert.deepStrictEqual(got, [0, 1, 2, 3])
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer())))

  it.effect("close delivers what is outstanding first; the peer's messages stream then ends", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [ua, ub] = yield* net.pair()
      const a = yield* Endpoint.make(ua, { drive: "reactor", initialRtt: 30 })
      const b = yield* Endpoint.make(ub, { drive: "reactor", initialRtt: 30 })
      const got = yield* inVirtualTime(Effect.gen(function*() {
        for (let i = 0; i < 300; i++) yield* a.sendPayload(Guarantee.Delivery, numbered(i, 200))
        yield* a.close
        return yield* Stream.runCollect(b.messages)
      }))
      assert.deepStrictEqual(got.map(numberOf), Array.from({ length: 300 }, (_, i) => i))
      assert.deepStrictEqual(yield* a.closeReason, { kind: "local" })
      const e = yield* Effect.flip(a.sendPayload(Guarantee.None, numbered(0)))
      assert.strictEqual(e.kind, "Closed")
    }).pipe(SimNet.traceOnFailure(), Effect.provide(SimNet.layer({ seed: 9, latency: "10 millis", loss: 0.2 }))))

  it.effect("a peer that goes silent is detected: take fails with PeerTimedOut", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [ua, ub] = yield* net.pair()
      const a = yield* Endpoint.make(ua, { drive: "reactor", idleTimeout: "3 seconds", heartbeat: "500 millis" })
      const b = yield* Endpoint.make(ub, { drive: "reactor", idleTimeout: "3 seconds", heartbeat: "500 millis" })
      yield* inVirtualTime(Effect.all([a.connected, b.connected]))
      yield* net.partition("a", "b")
      const e = yield* inVirtualTime(Effect.flip(a.take))
      assert.strictEqual(e.kind, "PeerTimedOut")
    }).pipe(SimNet.traceOnFailure(), Effect.provide(SimNet.layer({ seed: 2, latency: "5 millis" }))))
})
