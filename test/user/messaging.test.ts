/**
 * Clt and Svc as a user meets them (docs/messaging.md), through the package's
 * entry point only: options from untyped JavaScript, a connection closed from
 * this side, host names. Each case is a defect a user saw; the test failed
 * before its fix.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AddressResolver, Dns } from "effect/net"
import { Binary, Clt, Codec, Framer, MessagingError, Protocol, Reactor, Svc } from "effect-mio"
import { checkFdLeaks } from "../util/fds.ts"

const Quote = Binary.tagged("Quote", "Q", { symbol: Binary.ascii(8), price: Binary.u32() })
const codec = Codec.binary(Quote.schema, Quote)
const framer = Framer.lengthPrefixed({ width: 2 })
const quote = { _tag: "Quote", symbol: "AAPL", price: 1 } as const
/** What a caller from untyped JavaScript can pass. */
const untyped = (o: unknown): any => o

const invalid = (e: MessagingError.MessagingError, ...named: ReadonlyArray<string>) => {
  assert.strictEqual(e.kind, "InvalidInput", e.message)
  for (const n of named) assert.include(e.detail, n)
}

describe("user: Clt and Svc options", () => {
  checkFdLeaks()

  // Before: inbox NaN made Queue.bounded(NaN), and the first message never reached recv (a hang);
  // maxConnections -1, NaN or "x" were silently replaced; a missing framer was a TypeError defect.
  it.live("a bad Svc option is InvalidInput naming it, and nothing is left open", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[Record<string, unknown>, string, string]> = [
        [{ inbox: Number.NaN }, "inbox", "NaN"],
        [{ inbox: 0 }, "inbox", "0"],
        [{ inbox: -3 }, "inbox", "-3"],
        [{ maxConnections: -1 }, "maxConnections", "-1"],
        [{ maxConnections: Number.NaN }, "maxConnections", "NaN"],
        [{ maxConnections: "x" }, "maxConnections", "\"x\""],
        [{ backlog: 1.5 }, "backlog", "1.5"],
        [{ wait: "bogus" }, "wait", "\"bogus\""],
        [{ framer: undefined }, "framer", "undefined"],
        [{ codec: 42 }, "codec", "42"],
        [{ name: 7 }, "name", "7"]
      ]
      for (const [bad, option, shown] of cases) {
        const e = yield* Effect.flip(Svc.bind(untyped({ address: "127.0.0.1:0", codec, framer, ...bad })))
        invalid(e, option, shown)
      }
      invalid(yield* Effect.flip(Svc.bind(untyped(null))), "options")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a bad Clt option is InvalidInput naming it, before anything is dialed", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer })
      const cases: ReadonlyArray<[Record<string, unknown>, string, string]> = [
        [{ inbox: Number.NaN, receive: "background" }, "inbox", "NaN"],
        [{ inbox: -1 }, "inbox", "-1"],
        [{ timeout: "soon" }, "timeout", "\"soon\""],
        [{ timeout: -1 }, "timeout", "-1"],
        [{ timeout: Number.NaN }, "timeout", "NaN"],
        [{ receive: "bogus" }, "receive", "\"bogus\""],
        [{ wait: "bogus" }, "wait", "\"bogus\""],
        [{ retry: "often" }, "retry", "\"often\""],
        [{ framer: undefined }, "framer", "undefined"],
        [{ codec: undefined }, "codec", "undefined"]
      ]
      for (const [bad, option, shown] of cases) {
        const e = yield* Effect.flip(Clt.connect(untyped({ address: svc.address, codec, framer, ...bad })))
        invalid(e, option, shown)
      }
      assert.strictEqual((yield* svc.stats).accepted, 0, "no bad Clt reached the service")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("the smallest inbox (1) still carries every message in order", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer, inbox: 1 })
      const clt = yield* Clt.connect({ address: svc.address, codec, framer, inbox: 1, receive: "background" })
      yield* clt.sendAll(Array.from({ length: 20 }, (_, i) => ({ ...quote, price: i })))
      for (let i = 0; i < 20; i++) {
        const { from, message } = yield* svc.recv
        assert.strictEqual(message.price, i)
        yield* svc.send(from, message)
      }
      for (let i = 0; i < 20; i++) assert.strictEqual((yield* clt.recv).price, i)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: Svc.disconnect", () => {
  checkFdLeaks()

  // Before: svc.send to a connection just given to disconnect succeeded (the message went nowhere the
  // application could know of) until the connection's Scope had finished closing.
  it.live("a send after disconnect is NotConnected, and the client sees its connection end", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer })
      const clt = yield* Clt.connect({ address: svc.address, codec, framer })
      yield* clt.send(quote)
      const { from } = yield* svc.recv
      yield* svc.disconnect(from)
      yield* svc.disconnect(from) // twice: nothing more
      assert.strictEqual((yield* Effect.flip(svc.send(from, quote))).kind, "NotConnected")
      assert.strictEqual((yield* Effect.flip(svc.sendAll(from, [quote]))).kind, "NotConnected")
      assert.strictEqual(yield* svc.broadcast(quote), 0)
      assert.isFalse(yield* svc.isConnected(from))
      assert.strictEqual((yield* Effect.flip(clt.recv)).kind, "Closed")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: host names (docs/net.md: every constructor that is an Effect resolves)", () => {
  checkFdLeaks()
  const names = Layer.provide(AddressResolver.layer(), Dns.layerStatic({ hosts: { "quotes.internal": ["127.0.0.1"] } }))

  // Before: Clt.connect({ address: "localhost:7000" }) and Svc.bind on a name failed with ConnectFailed
  // "this synchronous call does no DNS lookup", though both are Effects.
  it.live("Svc.bind and Clt.connect take host names, through the AddressResolver in context", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "quotes.internal:0", codec, framer })
      const port = (svc.address as { port: number }).port
      const clt = yield* Clt.connect({ address: `quotes.internal:${port}`, codec, framer })
      assert.include(String(clt.id), `127.0.0.1:${port}`)
      yield* clt.send(quote)
      assert.deepStrictEqual((yield* svc.recv).message, quote)
      const unknown = yield* Effect.flip(Clt.connect({ address: `nowhere.internal:${port}`, codec, framer }))
      assert.strictEqual(unknown.kind, "ConnectFailed")
      assert.include(unknown.detail, "nowhere.internal")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer), Effect.provide(names)))

  it.live("localhost resolves with no resolver provided", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer })
      const clt = yield* Clt.connect({ address: `localhost:${(svc.address as { port: number }).port}`, codec, framer })
      yield* clt.send(quote)
      assert.deepStrictEqual((yield* svc.recv).message, quote)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: Clt and Svc given the wrong things", () => {
  checkFdLeaks()

  // Before: socket: 42 / server: 42 died with a TypeError; a heartbeat of "soon" or a timeout of NaN
  // silently meant no heartbeat; recvTimeout("soon") died (Duration.fromInputUnsafe) and
  // recvTimeout(-5) silently answered None.
  it.live("a socket or server that is not one, a heartbeat that is not a duration: InvalidInput", () =>
    Effect.gen(function*() {
      invalid(yield* Effect.flip(Clt.connect(untyped({ socket: 42, codec, framer }))), "socket", "42")
      invalid(yield* Effect.flip(Svc.bind(untyped({ server: {}, codec, framer }))), "server", "{}")
      const beat = (heartbeat: unknown) =>
        Protocol.make<Binary.Type<typeof Quote>, Binary.Type<typeof Quote>, undefined, undefined>(untyped({ connectionState: () => undefined, session: undefined, heartbeat }))
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer })
      const cases: ReadonlyArray<[unknown, string]> = [
        [{ interval: "soon", make: () => quote }, "protocol.heartbeat.interval"],
        [{ interval: "1 second", make: () => quote, timeout: Number.NaN }, "protocol.heartbeat.timeout"],
        [{ interval: "1 second" }, "protocol.heartbeat.make"],
        ["often", "protocol.heartbeat"]
      ]
      for (const [heartbeat, option] of cases) {
        invalid(yield* Effect.flip(Clt.connect({ address: svc.address, codec, framer, protocol: beat(heartbeat) })), option)
        invalid(yield* Effect.flip(Svc.bind({ address: "127.0.0.1:0", codec, framer, protocol: beat(heartbeat) })), option)
      }
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("recvTimeout with a timeout that is not a duration is InvalidInput, on both sides", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer })
      const clt = yield* Clt.connect({ address: svc.address, codec, framer })
      invalid(yield* Effect.flip(clt.recvTimeout(untyped("soon"))), "timeout", "\"soon\"")
      invalid(yield* Effect.flip(svc.recvTimeout(untyped(-5))), "timeout", "-5")
      // and a good one still times out, then receives
      assert.isTrue((yield* svc.recvTimeout("10 millis"))._tag === "None")
      yield* clt.send(quote)
      assert.isTrue((yield* svc.recvTimeout("5 seconds"))._tag === "Some")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: a message too long for the framer (docs/messaging.md, Errors)", () => {
  checkFdLeaks()

  it.live("fails that send (with sendAll, the whole batch) and leaves the connection open", () =>
    Effect.gen(function*() {
      const Blob = Binary.tagged("Blob", "B", { data: Binary.rest })
      const blobs = Codec.binary(Blob.schema, Blob)
      const blob = (n: number) => ({ _tag: "Blob", data: new Uint8Array(n) }) as const
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec: blobs, framer })
      const clt = yield* Clt.connect({ address: svc.address, codec: blobs, framer })
      assert.strictEqual((yield* Effect.flip(clt.send(blob(70_000)))).kind, "Frame")
      assert.strictEqual((yield* Effect.flip(clt.sendAll([blob(1), blob(70_000), blob(2)]))).kind, "Frame")
      assert.isTrue(yield* clt.isConnected)
      yield* clt.send(blob(3))
      assert.strictEqual((yield* svc.recv).message.data.length, 3, "nothing of the refused batch was written")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
