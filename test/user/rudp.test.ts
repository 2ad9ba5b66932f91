/**
 * Reliable UDP as a user meets it (docs/rudp.md), through the package's entry
 * point only: arguments from untyped JavaScript, waits on ids, host names.
 * Each case is a defect a user saw; the test failed before its fix.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Endpoint, Guarantee, Reactor, UdpLike } from "effect-mio"
import { checkFdLeaks } from "../util/fds.ts"

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)
/** What a caller from untyped JavaScript can pass. */
const untyped = (v: unknown): any => v

/** A one-peer server and a client on loopback, both driven by the reactor. */
const pair = Effect.gen(function*() {
  const listening = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
  const server = yield* Endpoint.make(listening, { role: "server", drive: "reactor" })
  const client = yield* Endpoint.connect({ peer: listening.localAddress, config: { drive: "reactor" } })
  return { server, client, port: (listening.localAddress as { port: number }).port }
})

describe("user: reliable UDP endpoints", () => {
  checkFdLeaks()

  // Before: sendPayload(g, "hello") and sendPayload("x", bytes) returned an id and sent garbage (a
  // string's length in zeros) or an untiered message; write("hello") the same.
  it.live("a payload that is not bytes, or a guarantee that is none of the three, is InvalidInput; nothing is sent", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const refused = [
        yield* Effect.flip(client.sendPayload(Guarantee.Delivery, untyped("hello"))),
        yield* Effect.flip(client.trySendPayload(Guarantee.Delivery, untyped([1, 2]))),
        yield* Effect.flip(client.sendPayload(untyped("Reliable"), bytes("x"))),
        yield* Effect.flip(client.sendPayload(untyped(null), bytes("x"))),
        yield* Effect.flip(client.write(untyped("hello")))
      ]
      for (const e of refused) assert.strictEqual(e.kind, "InvalidInput", e.message)
      assert.include(refused[0]!.detail, "a string")
      assert.include(refused[2]!.detail, "\"Reliable\"")
      yield* client.sendPayload(Guarantee.Delivery, bytes("the only message"))
      assert.strictEqual(text(yield* server.take), "the only message")
      assert.strictEqual((yield* client.stats).stats.messagesSent.Delivery, 1)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  // Before: acknowledged(id) for an id no send returned (a typo, an id of another endpoint, a string)
  // waited forever.
  it.live("acknowledged of an id this endpoint never returned is InvalidInput, not a wait forever", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const id = yield* client.sendPayload(Guarantee.Delivery, bytes("a"))
      yield* client.acknowledged(id)
      assert.strictEqual(text(yield* server.take), "a")
      for (const bad of [id + 1, 12_345, -1, 0.5, "0", undefined]) {
        const e = yield* Effect.flip(client.acknowledged(untyped(bad)))
        assert.strictEqual(e.kind, "InvalidInput", e.message)
      }
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
