/**
 * Framers and binary layouts as a user meets them (docs/messaging.md, "Framers"
 * and "Codecs"), through the package's entry point only. Each case is a defect
 * a user saw; the test failed before its fix.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { Binary, Clt, Codec, Framer, FrameError, Reactor, Svc } from "effect-mio"
import { checkFdLeaks } from "../util/fds.ts"

/** What a caller from untyped JavaScript can pass. */
const untyped = (v: unknown): any => v

describe("user: custom framers (Framer.make)", () => {
  // Before: a measure that answered 0 (no header, no trailer) made push split empty frames from the
  // same bytes forever: the process ran out of memory.
  it("a measure of 0 bytes is Malformed, not an endless split", () => {
    const framer = Framer.make({ measure: () => 0, maxFrame: 10 })
    const out = framer.splitter().push(new Uint8Array([1, 2, 3]))
    assert.instanceOf(out, FrameError.FrameError)
    assert.strictEqual((out as FrameError.FrameError).kind, "Malformed")
  })

  // Before: an exception in measure escaped push (framers return errors as values, never throw).
  it("a measure that throws is Malformed with its message", () => {
    const framer = Framer.make({ measure: () => { throw new Error("bad header") }, maxFrame: 10 })
    const out = framer.splitter().push(new Uint8Array([1]))
    assert.instanceOf(out, FrameError.FrameError)
    assert.include((out as FrameError.FrameError).detail, "bad header")
  })
})

describe("user: a throwing measure on a real connection", () => {
  checkFdLeaks()

  // Before: the exception escaped the connection's reader as a defect ("Unhandled error in SocketServer").
  it.live("ends that connection with a Frame error, no defect; the service goes on", () =>
    Effect.gen(function*() {
      const errors: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Error" || logLevel === "Fatal") errors.push(String(Array.isArray(message) ? message[0] : message))
      })
      const Ping = Binary.tagged("Ping", "P", { n: Binary.u8 })
      const codec = Codec.binary(Ping.schema, Ping)
      const Pair = Binary.struct({ a: Binary.u8, b: Binary.u8 })
      const raw = Codec.duplex({ encode: Codec.binary(Pair.schema, Pair), decode: codec })
      const good = Framer.fixedSize(2)
      const picky = Framer.make({
        maxFrame: 2,
        measure: (bytes) => {
          if (bytes[0] !== 0x50) throw new Error(`unknown type byte ${bytes[0]}`)
          return 2
        }
      })
      yield* Effect.gen(function*() {
        const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer: picky })
        const bad = yield* Clt.connect({ address: svc.address, codec: raw, framer: good })
        yield* bad.send({ a: 0x51, b: 1 })
        assert.strictEqual((yield* Effect.flip(bad.recv)).kind, "Closed")
        const ok = yield* Clt.connect({ address: svc.address, codec, framer: good })
        yield* ok.send({ _tag: "Ping", n: 7 })
        assert.deepStrictEqual((yield* svc.recv).message, { _tag: "Ping", n: 7 })
      }).pipe(Effect.provide(Logger.layer([capture])))
      assert.deepStrictEqual(errors, [])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("user: option typos in framers and layouts throw RangeError at declaration", () => {
  // Before: each of these was accepted and silently meant the default (little-endian for anything but
  // "big", left-aligned, a bigint or number at random).
  it("endian, align and as out of their choices", () => {
    const declarations: ReadonlyArray<[string, () => unknown]> = [
      ["endian", () => Framer.lengthPrefixed(untyped({ width: 2, endian: "network" }))],
      ["endian", () => Binary.u16(untyped("network"))],
      ["endian", () => Binary.f64(untyped("BIG"))],
      ["endian", () => Binary.u64(untyped({ endian: "middle" }))],
      ["as", () => Binary.u64(untyped({ as: "string" }))],
      ["as", () => Binary.numeric(4, untyped({ as: "string" }))],
      ["align", () => Binary.ascii(4, untyped({ align: "center" }))],
      ["options", () => Framer.lengthPrefixed(untyped(undefined))],
      ["maxFrame", () => Framer.delimited("\n", untyped(undefined))]
    ]
    for (const [option, declare] of declarations) {
      assert.throws(declare, RangeError, option)
    }
    assert.strictEqual(Framer.lengthPrefixed({ width: 2, endian: "little" }).name, "lengthPrefixed(u16le)")
  })
})
