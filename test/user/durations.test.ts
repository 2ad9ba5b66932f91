/**
 * Durations as an Effect 4 user writes them: `Duration.Input` includes
 * `DurationObject` (`{ seconds: 30 }`), and every option that takes a duration
 * takes it. Through the package's entry point only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Binary, Clt, Codec, Events, Framer, Poll, Reactor, Svc, Tcp } from "effect-mio"
import { checkFdLeaks } from "../util/fds.ts"

/** What a caller from untyped JavaScript can pass. */
const untyped = (v: unknown): any => v

describe("user: { seconds: 30 } is a duration", () => {
  checkFdLeaks()

  // Before: every checked duration option refused a DurationObject, a valid Duration.Input, with
  // InvalidInput ("… is a non-negative duration …, not {\"seconds\":1}").
  it.live("poll, Tcp.connect and Clt.connect take a DurationObject", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      yield* poll.poll(Events.withCapacity(8), { milliseconds: 5 })
      const server = yield* Tcp.listen("127.0.0.1:0")
      const socket = yield* Tcp.connect(server.address, { openTimeout: { seconds: 1 } })
      yield* socket.reader
      const Ping = Binary.tagged("Ping", "P", { n: Binary.u8 })
      const codec = Codec.binary(Ping.schema, Ping)
      const framer = Framer.lengthPrefixed({ width: 1 })
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer })
      const clt = yield* Clt.connect({ address: svc.address, codec, framer, timeout: { seconds: 5 } })
      yield* clt.send({ _tag: "Ping", n: 1 })
      assert.strictEqual((yield* svc.recv).message.n, 1)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("objects that are not one stay InvalidInput", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      for (const bad of [{}, { secs: 5 }, { seconds: "5" }, { seconds: -1 }, { seconds: Number.NaN }, { seconds: 1, extra: 2 }]) {
        const e = yield* Effect.flip(poll.poll(Events.withCapacity(8), untyped(bad)))
        assert.strictEqual(e.kind, "InvalidInput", JSON.stringify(bad))
      }
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
