import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as Network from "../../src/testing/Network.ts"
import * as SimNet from "../../src/testing/SimNet.ts"

const bytes = (...xs: Array<number>) => new Uint8Array(xs)

describe("SimNet · time", () => {
  it.effect("TestClock drives delivery times exactly", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ latency: 10 })
      const [a, b] = yield* net.pair()
      const buffer = new Uint8Array(16)
      yield* a.send(bytes(1, 2, 3))
      yield* TestClock.adjust(9.999)
      assert.isUndefined(yield* b.tryRecv(buffer), "not at 9.999 ms")
      yield* TestClock.adjust(0.001)
      assert.strictEqual(yield* b.tryRecv(buffer), 3, "at 10 ms")
      assert.deepStrictEqual(net.trace.events().map((e) => [e.at, e.kind]), [[0, "send"], [10, "deliver"]])
    }))

  it.effect("each packet arrives at its own time, an earlier one overtaking a later one scheduled before it", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ links: { "a->b": { latency: 50 }, "b->a": { latency: 5 } } })
      const [a, b] = yield* net.pair()
      const arrivals: Array<string> = []
      const record = (name: string, endpoint: MemoryDatagram.UdpLike) =>
        Effect.forkChild(Effect.forever(Effect.gen(function*() {
          yield* endpoint.recv(new Uint8Array(4))
          arrivals.push(`${name}@${yield* net.now}`)
        })))
      yield* record("b", b)
      yield* record("a", a)
      yield* a.send(bytes(1)) // due at 50
      yield* TestClock.adjust(1)
      yield* b.send(bytes(2)) // due at 6: the timer is re-armed earlier
      yield* TestClock.adjust(3)
      yield* a.send(bytes(3)) // due at 54
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(arrivals, ["a@6", "b@50", "b@54"])
    }))

  it.effect("the application's timers and the network interleave in time order", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ latency: 10 })
      const [client, server] = yield* net.pair()
      // an echo server
      yield* Effect.forkChild(Effect.forever(Effect.gen(function*() {
        const buffer = new Uint8Array(64)
        const n = yield* server.recv(buffer)
        yield* server.send(buffer.subarray(0, n))
      })))
      const request = (timeout: number) =>
        Effect.andThen(client.send(bytes(timeout)), client.recv(new Uint8Array(64))).pipe(
          Effect.timeoutOption(timeout)
        )
      const tooShort = yield* Effect.forkChild(request(15))
      yield* TestClock.adjust(30)
      assert.isTrue(Option.isNone(yield* Fiber.join(tooShort)), "20 ms round trip > 15 ms timeout")
      // the late reply is still queued: drain it
      assert.strictEqual(yield* client.tryRecv(new Uint8Array(64)), 1)
      const enough = yield* Effect.forkChild(request(25))
      yield* TestClock.adjust(30)
      assert.isTrue(Option.isSome(yield* Fiber.join(enough)))
    }))

  it.effect("drive jumps to the next arrival, then to a registered deadline, then reports idle", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ latency: 10 })
      const [a, b] = yield* net.pair()
      yield* a.send(bytes(1))
      assert.deepStrictEqual(yield* net.drive(), { now: 10, reason: "event", processed: 1 })
      assert.strictEqual(yield* b.tryRecv(new Uint8Array(1)), 1)
      let deadline: number | undefined = 25
      yield* net.deadline(() => deadline)
      assert.deepStrictEqual(yield* net.drive(), { now: 25, reason: "deadline", processed: 0 })
      assert.strictEqual(yield* Effect.clockWith((clock) => clock.currentTimeMillis), 25, "the TestClock moved too")
      deadline = undefined
      assert.strictEqual((yield* net.drive()).reason, "idle")
      yield* net.advance("5 millis")
      assert.strictEqual(yield* net.now, 30)
    }))

  it.effect("faults at given times follow the clock", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ latency: 1 })
      const [a, b] = yield* net.pair()
      yield* net.at("100 millis", Network.dropAll("a->b"))
      yield* net.at(200, Network.heal())
      const received: Array<number> = []
      yield* Effect.forkChild(Effect.forever(Effect.gen(function*() {
        const buffer = new Uint8Array(1)
        yield* b.recv(buffer)
        received.push(buffer[0]!)
      })))
      for (let t = 0; t < 300; t += 50) {
        yield* a.send(bytes(t / 50))
        yield* TestClock.adjust(50)
      }
      assert.deepStrictEqual(received, [0, 1, 4, 5])
      assert.deepStrictEqual((yield* net.stats("a->b")).dropped, { blocked: 2 })
    }))

  it.effect("closing the scope stops the network", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const net = yield* Scope.provide(SimNet.make({ latency: 10 }), scope)
      let ran = false
      net.withNetworkUnsafe((n) => n.schedule(10, () => ran = true))
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust(20)
      assert.isFalse(ran)
    }))
})

describe("SimNet · pair (UdpLike)", () => {
  it.effect("recv waits and never cuts a datagram (a longer one is dropped whole, counted); tryRecv does not wait; readable waits without taking", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make()
      const [a, b] = yield* net.pair()
      assert.isUndefined(yield* b.tryRecv(new Uint8Array(8)))
      const ready = yield* Effect.forkChild(b.readable)
      const small = new Uint8Array(2)
      const waiting = yield* Effect.forkChild(Effect.andThen(Fiber.join(ready), b.recv(small)))
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe())
      yield* a.send(bytes(1, 2, 3, 4))
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe(), "the 4-byte datagram did not fit the 2-byte buffer: dropped, recv still waits")
      assert.strictEqual(b.dropped(), 1)
      yield* a.send(bytes(5, 6))
      assert.strictEqual(yield* Fiber.join(waiting), 2)
      assert.deepStrictEqual(small, bytes(5, 6))
      yield* a.send(bytes(1, 2, 3))
      yield* a.send(bytes(7))
      const one = new Uint8Array(2)
      assert.strictEqual(yield* b.tryRecv(one), 1, "tryRecv skips the datagram too long for its buffer")
      assert.strictEqual(one[0], 7)
      assert.strictEqual(b.dropped(), 2)
      assert.strictEqual(a.peerAddress.port, b.localAddress.port)
      assert.isTrue(MemoryDatagram.isUdpLike(a))
      assert.isFalse(MemoryDatagram.isUdpLike({ send: () => Effect.void }))
    }))

  it.effect("a sender may reuse its buffer as soon as send returns", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ latency: 5 })
      const [a, b] = yield* net.pair()
      const buffer = bytes(1, 2, 3)
      yield* a.send(buffer)
      buffer.fill(9)
      yield* net.drive()
      const received = new Uint8Array(3)
      yield* b.recv(received)
      assert.deepStrictEqual(received, bytes(1, 2, 3))
    }))

  it.effect("refuses datagrams over 65,507 bytes", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make()
      const [a] = yield* net.pair()
      const error = yield* Effect.flip(a.send(new Uint8Array(65_508)))
      assert.strictEqual(error.reason._tag, "DatagramSocketWriteError")
      assert.isTrue(error.reason._tag === "DatagramSocketWriteError" && error.reason.kind === "MessageTooLarge")
      yield* a.send(new Uint8Array(65_507))
    }))

  it.effect("a full receive queue drops and counts; the trace says rcvbuf", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make()
      const [a, b] = yield* net.pair({ capacity: 3 })
      for (let i = 0; i < 5; i++) yield* a.send(bytes(i))
      assert.strictEqual(b.dropped(), 2)
      assert.deepStrictEqual((yield* net.stats("a->b")).dropped, { rcvbuf: 2 })
      const got: Array<number> = []
      const buffer = new Uint8Array(1)
      while ((yield* b.tryRecv(buffer)) !== undefined) got.push(buffer[0]!)
      assert.deepStrictEqual(got, [0, 1, 2])
    }))

  it.effect("receives only from its peer", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make()
      const [a, b] = yield* net.pair()
      const stranger = yield* MemoryDatagram.udpLike({ host: "c", peer: b.localAddress }).pipe(
        Effect.provideService(SimNet.SimNet, net)
      )
      yield* stranger.send(bytes(9))
      yield* a.send(bytes(1))
      const buffer = new Uint8Array(1)
      assert.strictEqual(yield* b.tryRecv(buffer), 1)
      assert.strictEqual(buffer[0], 1)
      assert.isUndefined(yield* b.tryRecv(buffer))
      assert.deepStrictEqual((yield* net.stats("c->b")).dropped, { filtered: 1 })
    }))

  it.effect("closing the scope fails a waiting recv and every later call with DatagramSocketClosedError", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make()
      const scope = yield* Scope.make()
      const [a, b] = yield* Scope.provide(net.pair(), scope)
      const waiting = yield* Effect.forkChild(b.recv(new Uint8Array(1)))
      yield* Effect.yieldNow
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(waiting)
      assert.isTrue(Exit.isFailure(exit) && Cause.squash(exit.cause) instanceof Error)
      for (const effect of [a.send(bytes(1)), b.recv(new Uint8Array(1)), b.tryRecv(new Uint8Array(1)), b.readable]) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual(error.reason._tag, "DatagramSocketClosedError")
      }
      // the port is free again
      yield* Scope.provide(net.pair({ portA: a.localAddress.port }), yield* Scope.make())
    }))
})

describe("SimNet · seeds and reports", () => {
  // these tests compare explicit seeds: a SIMNET_SEED in the environment must not override them
  const noOverride = Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord({}))
  const workload = (seed: number) =>
    Effect.scoped(Effect.gen(function*() {
      const net = yield* SimNet.make({ seed, latency: 5, jitter: 3, loss: 0.2, duplicate: 0.1, reorder: 0.1 })
      const [a, b] = yield* net.pair()
      yield* Effect.forkChild(Effect.forever(Effect.gen(function*() {
        const buffer = new Uint8Array(8)
        const n = yield* b.recv(buffer)
        yield* b.send(buffer.subarray(0, n))
      })))
      for (let i = 0; i < 200; i++) {
        yield* a.send(bytes(i, i >> 8))
        yield* TestClock.adjust(1)
      }
      yield* TestClock.adjust(100)
      return { digest: net.trace.digest(), lines: net.trace.lines().join("\n"), count: net.trace.count() }
    }))

  it.effect("the same seed and inputs give byte-identical traces through fibers and the TestClock", () =>
    Effect.gen(function*() {
      const one = yield* workload(3)
      const two = yield* workload(3)
      assert.strictEqual(two.lines, one.lines)
      assert.strictEqual(two.digest, one.digest)
      assert.isAbove(one.count, 600)
      assert.notStrictEqual((yield* workload(4)).digest, one.digest)
    }).pipe(noOverride))

  it.effect("SIMNET_SEED overrides the seed given in code", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ seed: 1 }).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord({ SIMNET_SEED: "99" }))
      )
      assert.strictEqual(net.seed, 99)
      const plain = yield* SimNet.make({ seed: 1 }).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord({}))
      )
      assert.strictEqual(plain.seed, 1)
      const malformed = yield* Effect.exit(SimNet.make().pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord({ SIMNET_SEED: "seven" }))
      ))
      assert.isTrue(Exit.isFailure(malformed) && Cause.hasDies(malformed.cause))
    }))

  it.effect("traceOnFailure adds the seed, counters and trace to a failure, and nothing otherwise", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.make({ seed: 5, latency: 2, loss: 0.5 })
      const [a] = yield* net.pair()
      for (let i = 0; i < 10; i++) yield* a.send(bytes(i))
      const failing = yield* Effect.exit(
        Effect.fail("boom").pipe(SimNet.traceOnFailure({ last: 5 }), Effect.provideService(SimNet.SimNet, net))
      )
      assert.isTrue(Exit.isFailure(failing))
      if (Exit.isFailure(failing)) {
        assert.deepStrictEqual(failing.cause.reasons.filter((r) => r._tag === "Fail").map((r) => r._tag === "Fail" && r.error), ["boom"])
        const report = Cause.squash(Cause.fromReasons(failing.cause.reasons.filter((r) => r._tag === "Die")))
        assert.instanceOf(report, SimNet.SimNetReport)
        const text = (report as Error).message
        assert.include(text, "seed=5 (replay with SIMNET_SEED=5)")
        assert.include(text, "a->b: latency=2ms loss=50%; sent 10")
        assert.strictEqual(text.split("\n").filter((line) => / a->b /.test(line)).length, 5)
      }
      const fine = yield* Effect.succeed(42).pipe(SimNet.traceOnFailure(), Effect.provideService(SimNet.SimNet, net))
      assert.strictEqual(fine, 42)
      const interrupted = yield* Effect.exit(
        Effect.interrupt.pipe(SimNet.traceOnFailure(), Effect.provideService(SimNet.SimNet, net))
      )
      assert.isTrue(Exit.isFailure(interrupted) && Cause.hasInterruptsOnly(interrupted.cause))
    }).pipe(noOverride))

  it.effect("the layer provides a network; report describes it", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      assert.strictEqual(net.seed, 8)
      const [a] = yield* net.pair()
      yield* a.send(bytes(1))
      yield* net.advance(10)
      const report = yield* net.report()
      assert.match(report, /^SimNet seed=8 \(replay with SIMNET_SEED=8\) t=10ms/)
      assert.match(report, /a->b: latency=3ms; sent 1, delivered 1/)
    }).pipe(Effect.provide(SimNet.layer({ seed: 8, latency: 3 })), noOverride))
})
