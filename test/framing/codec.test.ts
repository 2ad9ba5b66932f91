/**
 * Codecs: round trips for every field kind and every union member (values drawn
 * from the layouts' own schemas), hand-written expected bytes, typed errors for
 * corrupt frames and for values that do not fit, and the JSON codec.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Schema from "effect/Schema"
import * as Binary from "../../src/framing/Binary.ts"
import * as Codec from "../../src/framing/Codec.ts"
import * as Prng from "../../src/testing/Prng.ts"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const bytesOf = (...parts: Array<string | ReadonlyArray<number>>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : [...p])))

const encodeOk = <A>(codec: Codec.Codec<A, unknown>, value: A): Uint8Array => {
  const bytes = Codec.encode(codec, value)
  if (bytes instanceof Codec.CodecError) throw new Error(bytes.message)
  return bytes
}

/** Normalises decoded values for comparison (views become arrays). */
const plain = (u: unknown): unknown =>
  u instanceof Uint8Array ? Array.from(u) : typeof u === "object" && u !== null ? Object.fromEntries(Object.entries(u).map(([k, v]) => [k, plain(v)])) : u

const EveryKind = Binary.tagged("EveryKind", "K", {
  u8: Binary.u8,
  i8: Binary.i8,
  u16be: Binary.u16(),
  u16le: Binary.u16("little"),
  i16: Binary.i16(),
  u32: Binary.u32(),
  i32le: Binary.i32("little"),
  u64: Binary.u64(),
  i64le: Binary.i64({ endian: "little" }),
  u64n: Binary.u64({ as: "number" }),
  i64n: Binary.i64({ as: "number" }),
  f64: Binary.f64(),
  f64le: Binary.f64("little"),
  left: Binary.ascii(6),
  right: Binary.ascii(5, { align: "right" }),
  zeros: Binary.ascii(4, { align: "right", pad: "0" }),
  count: Binary.numeric(20),
  big: Binary.numeric(24, { as: "bigint" }),
  filled: Binary.numeric(6, { pad: "0" }),
  side: Binary.char(["B", "S"]),
  raw: Binary.bytes(3),
  nested: Binary.struct({ a: Binary.u8, b: Binary.ascii(2) }),
  payload: Binary.rest
})

const Ping = Binary.tagged("Ping", 1, { id: Binary.u32() })
const Pong = Binary.tagged("Pong", 2, { id: Binary.u32(), note: Binary.ascii(8) })
const Text = Binary.tagged("Text", "T", { body: Binary.rest })
const Messages = Binary.union([Ping, Pong, Text, EveryKind], "Messages")
const messages = Codec.binary(Messages.schema, Messages)

describe("Codec.binary", () => {
  it.prop("round trips every field kind and every union member", { value: Arbitrary.schema(Messages.schema) }, ({ value }) => {
    const bytes = encodeOk(messages, value)
    const back = messages.decode(bytes)
    assert.notInstanceOf(back, Codec.CodecError)
    assert.deepStrictEqual(plain(back), plain(value))
    // and the bytes are canonical: encoding the decoded value gives them again
    assert.strictEqual(hex(encodeOk(messages, back as typeof value)), hex(bytes))
  }, { arbitrary: { runs: 400, seed: 7 } })

  it("f32 keeps what Math.fround keeps", () => {
    const F = Binary.struct({ x: Binary.f32(), y: Binary.f32("little") })
    const codec = Codec.binary(F.schema, F)
    for (const x of [0, -0.5, 1 / 3, 1e30, -Infinity]) {
      const back = codec.decode(encodeOk(codec, { x, y: x })) as { x: number; y: number }
      assert.strictEqual(back.x, Math.fround(x))
      assert.strictEqual(back.y, Math.fround(x))
    }
  })

  it("writes the hand-written bytes", () => {
    const Order = Binary.tagged("Order", "O", {
      ref: Binary.u32(),
      side: Binary.char(["B", "S"]),
      qty: Binary.u16("little"),
      symbol: Binary.ascii(8),
      seq: Binary.numeric(6),
      price: Binary.u64({ as: "number" }),
      delta: Binary.i16()
    })
    const codec = Codec.binary(Order.schema, Order)
    const value = { _tag: "Order" as const, ref: 0x01020304, side: "S" as const, qty: 500, symbol: "AAPL", seq: 42, price: 1_500_000, delta: -2 }
    const expected = bytesOf(
      "O",
      [0x01, 0x02, 0x03, 0x04],
      "S",
      [0xf4, 0x01],
      "AAPL    ",
      "    42",
      [0, 0, 0, 0, 0, 0x16, 0xe3, 0x60],
      [0xff, 0xfe]
    )
    assert.strictEqual(hex(encodeOk(codec, value)), hex(expected))
    assert.deepStrictEqual(codec.decode(expected), value)
    assert.strictEqual(Order.size, 32)
  })

  it("encodes into a reused buffer, after what is already there", () => {
    const buffer = new Codec.EncodeBuffer(16)
    buffer.bytes.set([9, 9], 0)
    const end = messages.encodeInto({ _tag: "Ping", id: 7 }, buffer, 2)
    assert.strictEqual(end, 7)
    assert.strictEqual(hex(buffer.bytes.subarray(0, 7)), "09090100000007")
    const first = buffer.bytes
    messages.encodeInto({ _tag: "Pong", id: 1, note: "x" }, buffer, 0)
    assert.strictEqual(buffer.bytes, first, "no new buffer for a message that fits")
    // a larger message grows it, keeping the bytes before the offset
    const grown = messages.encodeInto({ _tag: "Text", body: new Uint8Array(100).fill(1) }, buffer, 2)
    assert.strictEqual(grown, 103)
    assert.deepStrictEqual(Array.from(buffer.bytes.subarray(0, 3)), [2, 0, 0x54])
  })

  it("a corrupt frame is a CodecError that keeps the frame", () => {
    const cases: Array<[string, Uint8Array, string]> = [
      ["empty", new Uint8Array(0), "no type byte"],
      ["unknown type byte", bytesOf("Q", [0, 0]), "unknown type byte 0x51 ('Q')"],
      ["short", bytesOf([1], [0, 0, 1]), "4 bytes for a layout of 5"],
      ["long", bytesOf([1], [0, 0, 0, 1, 0]), "6 bytes for a layout of 5"],
      ["not ASCII", bytesOf([2], [0, 0, 0, 1], [0x41, 0x80, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]), "not printable ASCII"]
    ]
    for (const [what, frame, detail] of cases) {
      const e = messages.decode(frame)
      assert.instanceOf(e, Codec.CodecError, what)
      assert.strictEqual(e.kind, "Decode")
      assert.include(e.detail, detail, what)
      assert.strictEqual(hex(e.frame!), hex(frame))
    }
    const Seq = Binary.struct({ n: Binary.numeric(4), side: Binary.char(["B", "S"]) })
    const seq = Codec.binary(Seq.schema, Seq)
    assert.include((seq.decode(bytesOf("  1x", "B")) as Codec.CodecError).detail, "not a digit")
    assert.include((seq.decode(bytesOf("    ", "B")) as Codec.CodecError).detail, "blank")
    assert.include((seq.decode(bytesOf("  12", "X")) as Codec.CodecError).detail, "struct.side")
    const U = Binary.struct({ n: Binary.u64({ as: "number" }) })
    assert.include((Codec.binary(U.schema, U).decode(new Uint8Array(8).fill(0xff)) as Codec.CodecError).detail, "MAX_SAFE_INTEGER")
  })

  it("a value that does not fit is an Encode error naming the field", () => {
    const bad: Array<[unknown, string]> = [
      [{ _tag: "Ping", id: -1 }, "Ping.id: u32be cannot hold -1"],
      [{ _tag: "Ping", id: 1.5 }, "cannot hold 1.5"],
      [{ _tag: "Pong", id: 1, note: "123456789" }, "longer than 8"],
      [{ _tag: "Pong", id: 1, note: "ends " }, "ends with the pad character"],
      [{ _tag: "Pong", id: 1, note: "é" }, "not printable ASCII"],
      [{ _tag: "Pong", id: 1 }, "Pong.note"],
      [{ _tag: "Nope" }, "no member tagged \"Nope\""],
      [null, "no member tagged undefined"],
      [{ _tag: "Text", body: "not bytes" }, "rest cannot hold"]
    ]
    for (const [value, detail] of bad) {
      const e = Codec.encode(messages, value as never)
      assert.instanceOf(e, Codec.CodecError, detail)
      assert.strictEqual(e.kind, "Encode")
      assert.include(e.detail, detail)
    }
  })

  it("a schema with more checks validates every message both ways", () => {
    const Quote = Binary.struct({ price: Binary.u32(), qty: Binary.u32() })
    const Positive = Quote.schema.check(Schema.makeFilter((q) => (q.price > 0 ? undefined : "price must be above zero")))
    const codec = Codec.binary(Positive, Quote)
    assert.deepStrictEqual(codec.decode(encodeOk(codec, { price: 5, qty: 1 })), { price: 5, qty: 1 })
    assert.include((Codec.encode(codec, { price: 0, qty: 1 }) as Codec.CodecError).detail, "price must be above zero")
    const zero = encodeOk(Codec.binary(Quote.schema, Quote), { price: 0, qty: 1 })
    assert.include((codec.decode(zero) as Codec.CodecError).detail, "price must be above zero")
  })

  it("any field name is safe in the compiled reader and writer; layout mistakes are RangeErrors", () => {
    const Odd = Binary.struct({ "a\"b": Binary.u8, "x\n}); throw 1; //": Binary.u8, constructor: Binary.u8, toString: Binary.ascii(3) })
    const codec = Codec.binary(Odd.schema, Odd)
    const value = { "a\"b": 1, "x\n}); throw 1; //": 2, constructor: 3, toString: "abc" }
    assert.deepStrictEqual(codec.decode(encodeOk(codec, value)), value)
    const proto = Object.defineProperty({}, "__proto__", { value: Binary.u8, enumerable: true })
    assert.throws(() => Binary.struct(proto), /"__proto__" cannot be a field name/)
    assert.throws(() => Binary.struct({ tail: Binary.rest, after: Binary.u8 }), RangeError)
    assert.throws(() => Binary.union([Ping, Binary.tagged("Other", 1, {})]), RangeError)
    assert.throws(() => Binary.ascii(0), RangeError)
  })

  it("random frames never throw: 20,000 seeded tries", () => {
    const prng = Prng.make(99)
    let decoded = 0
    for (let i = 0; i < 20_000; i++) {
      const frame = new Uint8Array(prng.int(140))
      for (let k = 0; k < frame.length; k++) frame[k] = prng.int(3) === 0 ? prng.int(256) : 0x20 + prng.int(20)
      if (frame.length > 0 && prng.int(2) === 0) frame[0] = [1, 2, 0x54, 0x4b][prng.int(4)]!
      const r = messages.decode(frame)
      if (!(r instanceof Codec.CodecError)) decoded++
    }
    assert.isAbove(decoded, 100, "some random frames are valid messages")
  })
})

describe("Codec.json", () => {
  const Event = Schema.Union([
    Schema.TaggedStruct("Trade", { symbol: Schema.String, qty: Schema.Int, id: Schema.BigInt }),
    Schema.TaggedStruct("Blob", { data: Schema.Uint8Array })
  ])
  const codec = Codec.json(Event, { name: "Event" })

  it("round trips through canonical JSON", () => {
    const trade = { _tag: "Trade" as const, symbol: "Ünïcode", qty: 3, id: 2n ** 70n }
    const bytes = encodeOk(codec, trade)
    assert.strictEqual(new TextDecoder().decode(bytes), `{"_tag":"Trade","symbol":"Ünïcode","qty":3,"id":"1180591620717411303424"}`)
    assert.deepStrictEqual(codec.decode(bytes), trade)
    const blob = { _tag: "Blob" as const, data: new Uint8Array([1, 2, 3]) }
    assert.deepStrictEqual(plain(codec.decode(encodeOk(codec, blob))), plain(blob))
  })

  it("bad frames and bad values are typed errors", () => {
    for (const text of ["{", "[]", `{"_tag":"Trade","symbol":"x","qty":1.5,"id":"1"}`]) {
      const e = codec.decode(new TextEncoder().encode(text))
      assert.instanceOf(e, Codec.CodecError)
      assert.strictEqual(e.kind, "Decode")
    }
    assert.include((codec.decode(new Uint8Array([0xff, 0xfe])) as Codec.CodecError).detail, "not UTF-8")
    assert.instanceOf(Codec.encode(codec, { _tag: "Trade", symbol: "x", qty: 0.5, id: 1n }), Codec.CodecError)
  })
})

describe("Codec.duplex", () => {
  it("encodes with one codec and decodes with the other", () => {
    const Out = Binary.struct({ a: Binary.u8 })
    const In = Binary.struct({ b: Binary.u16() })
    const codec = Codec.duplex({ encode: Codec.binary(Out.schema, Out), decode: Codec.binary(In.schema, In) })
    assert.strictEqual(hex(encodeOk(codec, { a: 5 })), "05")
    assert.deepStrictEqual(codec.decode(new Uint8Array([1, 2])), { b: 258 })
  })
})
