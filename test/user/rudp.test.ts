/**
 * Reliable UDP as a user meets it (docs/rudp.md), through the package's entry
 * point only: arguments from untyped JavaScript, waits on ids, host names.
 * Each case is a defect a user saw; the test failed before its fix.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { AddressResolver, Dns } from "effect/net"
import { Endpoint, EndpointServer, Guarantee, Reactor, UdpLike } from "effect-mio"
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
  return { server, client }
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

describe("user: reliable UDP addresses", () => {
  checkFdLeaks()
  const names = Layer.provide(AddressResolver.layer(), Dns.layerStatic({ hosts: { "game.internal": ["127.0.0.1"] } }))

  // Before: Endpoint.connect({ peer: "localhost:7000" }) failed with Transport "this synchronous call
  // does no DNS lookup … (the Effect constructors do)" — and Endpoint.connect is one.
  it.live("Endpoint.connect takes a host name, through the AddressResolver in context", () =>
    Effect.gen(function*() {
      const listening = yield* UdpLike.listen({ bind: "game.internal:0" })
      const server = yield* Endpoint.make(listening, { role: "server", drive: "reactor" })
      const port = (listening.localAddress as { port: number }).port
      const client = yield* Endpoint.connect({ peer: `game.internal:${port}`, config: { drive: "reactor" } })
      yield* client.sendPayload(Guarantee.Delivery, bytes("by name"))
      assert.strictEqual(text(yield* server.take), "by name")
      const unknown = yield* Effect.flip(Endpoint.connect({ peer: `nowhere.internal:${port}` }))
      assert.strictEqual(unknown.kind, "Transport")
      assert.include(unknown.detail, "nowhere.internal")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer), Effect.provide(names)))

  it.live("localhost, with no resolver provided", () =>
    Effect.gen(function*() {
      const listening = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
      const other = yield* Endpoint.make(listening, { role: "server", drive: "reactor" })
      const client = yield* Endpoint.connect({ peer: `localhost:${(listening.localAddress as { port: number }).port}`, config: { drive: "reactor" } })
      yield* client.sendPayload(Guarantee.Delivery, bytes("localhost"))
      assert.strictEqual(text(yield* other.take), "localhost")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  // Before: UdpLike.listen() / UdpLike.connect() without options died with a TypeError.
  it.live("UdpLike.listen and connect without options are InvalidInput", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(UdpLike.listen(untyped(undefined)))).kind, "InvalidInput")
      assert.strictEqual((yield* Effect.flip(UdpLike.connect(untyped(null)))).kind, "InvalidInput")
      assert.strictEqual((yield* Effect.flip(Endpoint.connect(untyped(undefined)))).kind, "InvalidInput")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: how a reliable UDP connection ends", () => {
  checkFdLeaks()

  // Before: after the peer's graceful close, take failed with Closed "the endpoint was closed" (the
  // table says PeerClosed, code 0), and after the peer's abort the messages stream ended as if the close
  // had been graceful: the application could not tell an abort from an orderly end.
  it.live("the peer's graceful close: take gives the messages, then PeerClosed code 0; messages ends", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      yield* client.sendPayload(Guarantee.Delivery, bytes("last words"))
      yield* client.close
      assert.strictEqual(text(yield* server.take), "last words")
      const end = yield* Effect.flip(server.take)
      assert.strictEqual(end.kind, "PeerClosed", end.message)
      assert.strictEqual(end.code, 0)
      assert.deepStrictEqual(yield* Stream.runCollect(server.messages), [])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("the peer's abort fails messages with PeerClosed and its code", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      yield* client.sendPayload(Guarantee.Delivery, bytes("before the abort"))
      assert.strictEqual(text(yield* server.take), "before the abort")
      yield* client.abort
      const end = yield* Effect.flip(Stream.runCollect(server.messages))
      assert.strictEqual(end.kind, "PeerClosed", end.message)
      assert.notStrictEqual(end.code, 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: reliable UDP lifecycles", () => {
  checkFdLeaks()

  // Before: an accept (or run) waiting when the server's Scope closed waited forever.
  it.live("accept after the endpoint server's Scope closed is Closed, not a wait forever", () =>
    Effect.gen(function*() {
      const server = yield* Effect.scoped(EndpointServer.make("127.0.0.1:0"))
      assert.strictEqual((yield* Effect.flip(Effect.scoped(server.accept))).kind, "Closed")
      assert.strictEqual((yield* Effect.flip(server.run(() => Effect.void))).kind, "Closed")
      const scope = yield* Scope.make()
      const open = yield* EndpointServer.make("127.0.0.1:0").pipe(Scope.provide(scope))
      const waiting = yield* Effect.forkChild(Effect.scoped(open.accept))
      yield* Effect.yieldNow
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual((yield* Effect.flip(Fiber.join(waiting))).kind, "Closed")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  // Before: a second endpoint on the same UdpLike was made, and the two took each other's datagrams.
  it.live("a second endpoint on one UdpLike is InvalidInput while the first lives; afterwards it is allowed", () =>
    Effect.gen(function*() {
      const listening = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
      const first = yield* Scope.make()
      yield* Endpoint.make(listening, { role: "server", drive: "reactor" }).pipe(Scope.provide(first))
      const e = yield* Effect.flip(Endpoint.make(listening, { role: "server", drive: "reactor" }))
      assert.strictEqual(e.kind, "InvalidInput")
      yield* Scope.close(first, Exit.void)
      const server = yield* Endpoint.make(listening, { role: "server", drive: "reactor" })
      const client = yield* Endpoint.connect({ peer: listening.localAddress, config: { drive: "reactor" } })
      yield* client.sendPayload(Guarantee.Delivery, bytes("second life"))
      assert.strictEqual(text(yield* server.take), "second life")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: a message queued before the handshake, longer than the peer accepts", () => {
  checkFdLeaks()

  /** A client that allows 1 MiB messages, a server with the default 64 KiB: the client learns it in the handshake. */
  const unevenPair = Effect.gen(function*() {
    const listening = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
    const server = yield* Endpoint.make(listening, { role: "server", drive: "reactor" })
    const client = yield* Endpoint.connect({ peer: listening.localAddress, config: { drive: "reactor", maxMessageSize: 1 << 20 } })
    return { server, client }
  })
  const big = new Uint8Array(100_000)

  // Before: the dropped message left a gap in the Delivery sequence: every later Delivery (and Order)
  // message was held at the peer forever, while acknowledged() said yes to all of them, the dropped one
  // included.
  it.live("is dropped alone: acknowledged(id) fails MessageTooLarge, the messages after it arrive in order", () =>
    Effect.gen(function*() {
      const { client, server } = yield* unevenPair
      const dropped = yield* client.sendPayload(Guarantee.Delivery, big)
      const a = yield* client.sendPayload(Guarantee.Delivery, bytes("a"))
      yield* client.asSet((set) =>
        Effect.all([
          set.sendPayload(Guarantee.Delivery, bytes("b1")),
          set.sendPayload(Guarantee.Delivery, big),
          set.sendPayload(Guarantee.Delivery, bytes("b2"))
        ])
      )
      const last = yield* client.sendPayload(Guarantee.Delivery, bytes("c"))
      const e = yield* Effect.flip(client.acknowledged(dropped))
      assert.strictEqual(e.kind, "MessageTooLarge", e.message)
      assert.strictEqual(e.limit, 65_536)
      yield* client.acknowledged(a)
      yield* client.acknowledged(last)
      const got: Array<string> = []
      while (got.length < 4) got.push(text(yield* server.take))
      assert.deepStrictEqual([got[0], [got[1], got[2]].sort().join(), got[3]], ["a", "b1,b2", "c"])
      assert.strictEqual((yield* client.stats).stats.droppedTooLarge, 2)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: sets (asSet)", () => {
  checkFdLeaks()

  // Before: ep.sendPayload or ep.asSet inside the endpoint's own asSet waited for the set to end, which
  // waited for them: the fiber hung forever.
  it.live("the endpoint's own send or asSet inside its set is InvalidInput; the set's sender works", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      const nested = yield* Effect.flip(client.asSet(() => client.asSet((inner) => inner.sendPayload(Guarantee.Delivery, bytes("x")))))
      assert.strictEqual(nested.kind, "InvalidInput")
      const own = yield* Effect.flip(client.asSet(() => client.sendPayload(Guarantee.Delivery, bytes("x"))))
      assert.strictEqual(own.kind, "InvalidInput")
      yield* client.asSet((set) => set.sendPayload(Guarantee.Delivery, bytes("in the set")))
      yield* client.sendPayload(Guarantee.Delivery, bytes("after"))
      assert.strictEqual(text(yield* server.take), "in the set")
      assert.strictEqual(text(yield* server.take), "after")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
