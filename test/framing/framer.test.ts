/**
 * Framers: any split of a byte stream into chunks gives the same frames (property
 * tests with Effect's Arbitrary), frames inside one chunk are views of it, the
 * maxFrame and truncated-stream errors, and a seeded fuzzer of 10^5 random
 * streams that must never throw nor buffer past a frame.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Schema from "effect/Schema"
import * as Framer from "../../src/framing/Framer.ts"
import * as Prng from "../../src/testing/Prng.ts"

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const wireOf = (framer: Framer.Framer, payloads: ReadonlyArray<Uint8Array>): Uint8Array => {
  const parts: Array<Uint8Array> = []
  for (const p of payloads) {
    const f = framer.frame(p)
    if (f instanceof Framer.FrameError) throw new Error(`could not frame: ${f.message}`)
    parts.push(...f)
  }
  return concat(parts)
}

/** `wire` cut at the given positions (taken modulo its length, sorted). */
const cut = (wire: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(cuts.map((c) => (wire.length === 0 ? 0 : c % (wire.length + 1))))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const c of [...at, wire.length]) {
    chunks.push(wire.slice(from, c))
    from = c
  }
  return chunks
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

interface Config {
  readonly name: string
  readonly framer: Framer.Framer
  /** Makes an arbitrary payload valid for the framer. */
  readonly fit: (payload: Uint8Array) => Uint8Array
}

const noNewline = (p: Uint8Array) => p.map((b) => (b === 10 ? 11 : b))
const noCrlf = (p: Uint8Array) => p.map((b) => (b === 13 ? 14 : b))
const capped = (n: number) => (p: Uint8Array) => p.subarray(0, n)

const CONFIGS: ReadonlyArray<Config> = [
  { name: "u16be (SoupBinTCP)", framer: Framer.lengthPrefixed({ width: 2, maxFrame: 200 }), fit: capped(200) },
  { name: "u8", framer: Framer.lengthPrefixed({ width: 1 }), fit: capped(255) },
  { name: "u32le including its header", framer: Framer.lengthPrefixed({ width: 4, endian: "little", includesHeader: true, maxFrame: 300 }), fit: capped(300) },
  {
    name: "u16be at offset 3 (links' START_IDX)",
    framer: Framer.lengthPrefixed({ width: 2, offset: 3, maxFrame: 100 }),
    fit: (p) => (p.length >= 3 ? p.subarray(0, 100) : new Uint8Array([1, 2, 3, ...p]))
  },
  { name: "fixedSize(7)", framer: Framer.fixedSize(7), fit: (p) => Uint8Array.from({ length: 7 }, (_, i) => p[i] ?? i) },
  { name: "delimited \\n", framer: Framer.delimited("\n", { maxFrame: 150 }), fit: (p) => noNewline(p.subarray(0, 150)) },
  { name: "delimited \\r\\n\\r\\n", framer: Framer.delimited("\r\n\r\n", { maxFrame: 150 }), fit: (p) => noCrlf(p.subarray(0, 150)) },
  {
    name: "custom: type byte + u8 length + payload + ';'",
    framer: Framer.make({
      name: "tlv",
      maxFrame: 255,
      headerLength: 2,
      trailer: new Uint8Array([59]),
      measure: (b) => (b.length < 2 ? undefined : 2 + b[1]! + 1),
      writeHeader: (h, n) => {
        h[0] = 0x54
        h[1] = n
      }
    }),
    fit: capped(255)
  }
]

const payloadsArb = Arbitrary.array(Arbitrary.schema(Schema.Uint8Array), { maxLength: 12 })
const cutsArb = Arbitrary.schema(Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5000 }))))

describe("Framer", () => {
  for (const { fit, framer, name } of CONFIGS) {
    describe(name, () => {
      it.prop("any split of the stream gives the same frames", { payloads: payloadsArb, cuts: cutsArb }, ({ cuts, payloads }) => {
        const fitted = payloads.map(fit)
        const frames = Framer.splitAll(framer, cut(wireOf(framer, fitted), cuts))
        assert.ok(Array.isArray(frames), frames instanceof Framer.FrameError ? frames.message : "")
        assert.deepStrictEqual(frames.map(hex), fitted.map(hex))
      }, { arbitrary: { runs: 300, seed: 10 } })

      it.prop("seal writes the same bytes as frame", { payload: Arbitrary.schema(Schema.Uint8Array) }, ({ payload }) => {
        const p = fit(payload)
        const buffer = new Uint8Array(framer.headerLength + p.length + framer.trailerLength)
        buffer.set(p, framer.headerLength)
        const n = framer.seal(buffer, p.length)
        assert.strictEqual(n, buffer.length)
        assert.strictEqual(hex(buffer), hex(wireOf(framer, [p])))
      }, { arbitrary: { runs: 200, seed: 11 } })

      it.prop("a stream cut inside its last frame ends with Truncated and the residue", {
        payloads: Arbitrary.array(Arbitrary.schema(Schema.Uint8Array), { minLength: 1, maxLength: 5 }),
        short: Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 400 })))
      }, ({ payloads, short }) => {
        const fitted = payloads.map(fit)
        const wire = wireOf(framer, fitted)
        const last = wireOf(framer, fitted.slice(-1)).length
        if (last < 2) return // a one-byte frame cannot be cut inside
        const keep = wire.length - 1 - (short % (last - 1))
        const splitter = framer.splitter()
        const frames = splitter.push(wire.subarray(0, keep))
        assert.ok(Array.isArray(frames))
        assert.strictEqual(frames.length, fitted.length - 1)
        const end = splitter.end()
        assert.ok(end instanceof Framer.FrameError)
        assert.strictEqual(end.kind, "Truncated")
        assert.strictEqual(hex(end.residue!), hex(wire.subarray(wire.length - last, keep)))
      }, { arbitrary: { runs: 200, seed: 12 } })
    })
  }

  it("frames inside one chunk are views of it; a frame across chunks is assembled once", () => {
    const framer = Framer.lengthPrefixed({ width: 2 })
    const wire = wireOf(framer, [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]), new Uint8Array([6, 7, 8, 9])])
    const splitter = framer.splitter()
    const first = splitter.push(wire.subarray(0, 10)) as Array<Uint8Array>
    assert.strictEqual(first.length, 2)
    for (const f of first) assert.strictEqual(f.buffer, wire.buffer)
    assert.strictEqual(splitter.buffered, 1)
    const second = splitter.push(wire.subarray(10)) as Array<Uint8Array>
    assert.deepStrictEqual(second.map(hex), ["06070809"])
    assert.notStrictEqual(second[0]!.buffer, wire.buffer)
    assert.strictEqual(splitter.end(), undefined)
  })

  it("a length over maxFrame is TooLarge from the header alone, and the splitter stays failed", () => {
    const framer = Framer.lengthPrefixed({ width: 2, maxFrame: 1000 })
    const splitter = framer.splitter()
    const e = splitter.push(new Uint8Array([0x10, 0x00])) // announces 4096 bytes
    assert.ok(e instanceof Framer.FrameError)
    assert.strictEqual(e.kind, "TooLarge")
    assert.strictEqual(e.size, 4096)
    assert.strictEqual(e.maxFrame, 1000)
    assert.strictEqual(splitter.buffered, 0)
    assert.strictEqual(splitter.push(new Uint8Array([1])), e)
    // the header split in two pushes is caught the same way
    const s2 = framer.splitter()
    assert.deepStrictEqual(s2.push(new Uint8Array([0x10])), [])
    assert.strictEqual((s2.push(new Uint8Array([0x00, 1, 2])) as Framer.FrameError).kind, "TooLarge")
  })

  it("delimited: no delimiter within maxFrame bytes is TooLarge, however the bytes arrive", () => {
    const framer = Framer.delimited("\n", { maxFrame: 8 })
    const s = framer.splitter()
    assert.deepStrictEqual(s.push(new TextEncoder().encode("abcd")), [])
    assert.deepStrictEqual(s.push(new TextEncoder().encode("efgh")), [])
    const e = s.push(new TextEncoder().encode("i"))
    assert.ok(e instanceof Framer.FrameError && e.kind === "TooLarge")
    assert.strictEqual(Framer.splitAll(framer, [new TextEncoder().encode("0123456789\n")]) instanceof Framer.FrameError, true)
    // exactly maxFrame bytes is fine
    assert.deepStrictEqual((Framer.splitAll(framer, [new TextEncoder().encode("01234567\n")]) as Array<Uint8Array>).length, 1)
  })

  it("frame refuses what cannot be framed", () => {
    assert.strictEqual((Framer.lengthPrefixed({ width: 1, maxFrame: 4 }).frame(new Uint8Array(5)) as Framer.FrameError).kind, "TooLarge")
    assert.strictEqual((Framer.fixedSize(4).frame(new Uint8Array(3)) as Framer.FrameError).kind, "Malformed")
    assert.strictEqual((Framer.delimited("\n", { maxFrame: 9 }).frame(new TextEncoder().encode("a\nb")) as Framer.FrameError).kind, "Malformed")
    const inc = Framer.lengthPrefixed({ width: 2, includesHeader: true })
    assert.strictEqual((inc.splitter().push(new Uint8Array([0, 1])) as Framer.FrameError).kind, "Malformed")
  })

  it("invalid options are programming errors (RangeError)", () => {
    assert.throws(() => Framer.lengthPrefixed({ width: 3 as 2 }), RangeError)
    assert.throws(() => Framer.lengthPrefixed({ width: 2, maxFrame: 70_000 }), RangeError)
    assert.throws(() => Framer.fixedSize(0), RangeError)
    assert.throws(() => Framer.delimited("", { maxFrame: 10 }), RangeError)
  })

  it("a seeded fuzzer: 100,000 random streams never throw nor buffer past a frame", () => {
    const prng = Prng.make(20_260_101)
    const framers = [
      ...CONFIGS.map((c) => c.framer),
      Framer.lengthPrefixed({ width: 2, includesHeader: true, maxFrame: 64 }),
      Framer.delimited("ab", { maxFrame: 16 })
    ]
    const counts = { frames: 0, errors: 0, truncated: 0 }
    const bytes = new Uint8Array(96)
    for (let i = 0; i < 100_000; i++) {
      const framer = framers[prng.int(framers.length)]!
      const splitter = framer.splitter()
      const n = prng.int(bytes.length + 1)
      // mostly small values, so that lengths and delimiters are often plausible
      for (let k = 0; k < n; k++) bytes[k] = prng.int(4) === 0 ? prng.int(256) : prng.int(12) + 0x5e - (prng.int(2) * 0x5e)
      let from = 0
      let failed = false
      while (from < n && !failed) {
        const to = Math.min(n, from + 1 + prng.int(24))
        const r = splitter.push(bytes.slice(from, to))
        if (r instanceof Framer.FrameError) {
          failed = true
          counts.errors++
        } else {
          counts.frames += r.length
          for (const f of r) if (f.length > framer.maxFrame) throw new Error(`${framer.name}: a frame of ${f.length} > ${framer.maxFrame}`)
        }
        if (splitter.buffered > framer.maxFrame + framer.headerLength + framer.trailerLength) {
          throw new Error(`${framer.name} buffers ${splitter.buffered} bytes (seed position ${i})`)
        }
        from = to
      }
      const end = splitter.end()
      if (end !== undefined && end.kind === "Truncated") counts.truncated++
    }
    // the stream generator reaches every outcome
    assert.isAbove(counts.frames, 10_000)
    assert.isAbove(counts.errors, 1_000)
    assert.isAbove(counts.truncated, 1_000)
  })
})
