/**
 * The wire format's codecs, unit by unit: variable-length integers, truncated
 * numbers across every wrap, range sets, packet headers and their tag, MESSAGE
 * frames in each of their forms, transport parameters.
 */
import { assert, describe, it } from "@effect/vitest"
import { decodeTruncated, MAX_VARINT, Reader, varintLength, Writer } from "../../src/rudp/engine/Bytes.ts"
import { FrameType, MessageFrame, Previous, readMessage, readRunCount, readRunMessage, writeMessage } from "../../src/rudp/engine/Frame.ts"
import type { Guarantee } from "../../src/rudp/Guarantee.ts"
import { Inbox } from "../../src/rudp/engine/Inbox.ts"
import { Payload } from "../../src/rudp/engine/Payload.ts"
import * as Prng from "../../src/testing/Prng.ts"
import { crc32, Header, parseHeader, patchLength, seal, TAG_BYTES, verifyTag, VERSION_1, writeLongHeader, writeShortHeader, writeVersionNegotiation } from "../../src/rudp/engine/Packet.ts"
import { readParams, writeParams } from "../../src/rudp/engine/Params.ts"
import { RangeSet } from "../../src/rudp/engine/RangeSet.ts"

describe("variable-length integers", () => {
  it("round-trip at every length boundary, in the length RFC 9000 §16 gives them", () => {
    const cases: ReadonlyArray<readonly [number, number]> = [
      [0, 1], [63, 1], [64, 2], [16383, 2], [16384, 4], [2 ** 30 - 1, 4], [2 ** 30, 8], [2 ** 40 + 7, 8], [MAX_VARINT, 8]
    ]
    const buf = new Uint8Array(16)
    for (const [v, n] of cases) {
      const w = new Writer(buf)
      w.varint(v)
      assert.strictEqual(w.pos, n, `${v} takes ${n} bytes`)
      const r = new Reader(buf, 0, w.pos)
      assert.strictEqual(r.varint(), v)
      assert.isTrue(r.ok)
    }
  })

  it("reads a value past 2^53 or past the end as malformed (ok = false), never throwing", () => {
    const big = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    const r = new Reader(big)
    assert.strictEqual(r.varint(), 0)
    assert.isFalse(r.ok)
    const short = new Reader(Uint8Array.of(0x80, 1))
    short.varint()
    assert.isFalse(short.ok)
    const w = new Writer(new Uint8Array(1))
    w.u16(5)
    assert.isFalse(w.ok, "a write past the end is refused")
  })
})

describe("truncated numbers (RFC 9000 Appendix A.3, any width)", () => {
  it("decode every value within half a window of the expected one, across the wrap of 1, 2 and 4 bytes", () => {
    for (const bytes of [1, 2, 4] as const) {
      const win = 2 ** (8 * bytes), half = win / 2
      for (const base of [0, win, 3 * win, 2 ** 32, 2 ** 40, 2 ** 48]) {
        for (const offset of [-half + 1, -half / 2, -3, -1, 0, 1, 2, half / 2, half - 1, half]) {
          const expected = base + 7
          const v = expected + offset
          if (v < 0) continue
          const truncated = v % win
          assert.strictEqual(decodeTruncated(truncated, bytes, expected), v, `bytes ${bytes}, expected ${expected}, value ${v}`)
        }
      }
    }
  })

  it("the RFC's own example: 0x9b32 after 0xa82f30ea decodes to 0xa82f9b32", () => {
    assert.strictEqual(decodeTruncated(0x9b32, 2, 0xa82f30ea + 1), 0xa82f9b32)
  })
})

describe("RangeSet", () => {
  it("merges, reports what is new, and bounds the number of ranges by raising its floor", () => {
    const s = new RangeSet(3)
    assert.isTrue(s.add(5))
    assert.isFalse(s.add(5))
    assert.strictEqual(s.addRange(3, 7), 4)
    assert.deepStrictEqual([s.lo, s.hi], [[3], [7]])
    s.add(10)
    s.add(20)
    s.add(9)
    assert.deepStrictEqual([s.lo, s.hi], [[3, 9, 20], [7, 10, 20]])
    s.add(30)
    assert.strictEqual(s.size, 3, "the oldest range was forgotten")
    assert.strictEqual(s.floor, 8)
    assert.isTrue(s.has(4), "below the floor counts as present")
    assert.isFalse(s.has(15))
    assert.strictEqual(s.coveredIn(0, 25), 8 + 2 + 1)
  })
})

describe("the integrity tag's CRC-32", () => {
  it("equals zlib's crc32 for every length and seed, by table or by zlib", async () => {
    const zlib = await import("node:zlib")
    const data = Uint8Array.from({ length: 1500 }, (_, i) => (i * 7919 + 13) & 0xff)
    for (const n of [0, 1, 7, 64, 100, 511, 512, 513, 1200, 1500]) {
      for (const seed of [0, 1, 0x9e3779b1, 0xffffffff]) {
        assert.strictEqual(crc32(data, 0, n, seed), zlib.crc32(data.subarray(0, n), seed) >>> 0, `length ${n}, seed ${seed}`)
        assert.strictEqual(crc32(data, 3, n + 3 > 1500 ? 1500 : n + 3, seed), zlib.crc32(data.subarray(3, Math.min(1500, n + 3)), seed) >>> 0)
      }
    }
  })
})

describe("packet headers", () => {
  const dcid = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)
  const scid = Uint8Array.of(9, 9, 9)

  it("a short header round-trips, and its tag covers the full packet number", () => {
    const buf = new Uint8Array(64)
    const w = new Writer(buf)
    w.end -= TAG_BYTES
    const pn = 2 ** 32 + 300
    writeShortHeader(w, dcid, pn, 2)
    w.u8(FrameType.PING)
    const n = seal(buf, 0, w.pos, pn)
    const packet = buf.subarray(0, n)
    const h = new Header()
    assert.isUndefined(parseHeader(packet, 8, h))
    assert.strictEqual(h.form, "short")
    assert.deepStrictEqual([...h.dcid], [...dcid])
    assert.strictEqual(h.pnLength, 2)
    assert.strictEqual(h.pnTruncated, pn % 65536)
    assert.isTrue(verifyTag(packet, pn))
    assert.isFalse(verifyTag(packet, pn - 65536), "the same truncated number read as another packet fails the tag")
    for (let bit = 0; bit < n * 8; bit++) {
      const copy = packet.slice()
      copy[bit >> 3]! ^= 1 << (bit & 7)
      const e = parseHeader(copy, 8, h)
      assert.isTrue(e !== undefined || !verifyTag(copy, decodeTruncated(h.pnTruncated, h.pnLength, pn)), `bit ${bit} flipped is caught`)
    }
  })

  it("a long header (Initial) round-trips with its length field", () => {
    const buf = new Uint8Array(200)
    const w = new Writer(buf)
    w.end -= TAG_BYTES
    const lengthAt = writeLongHeader(w, "Initial", VERSION_1, dcid, scid, undefined, 7, 4)
    w.u8(FrameType.PING)
    w.zeros(10)
    patchLength(buf, lengthAt, w.pos + TAG_BYTES)
    const n = seal(buf, 0, w.pos, 7)
    const h = new Header()
    assert.isUndefined(parseHeader(buf.subarray(0, n), 8, h))
    assert.strictEqual(h.form, "long")
    assert.strictEqual(h.type, "Initial")
    assert.strictEqual(h.version, VERSION_1)
    assert.deepStrictEqual([...h.scid], [...scid])
    assert.strictEqual(h.pnTruncated, 7)
    assert.strictEqual(h.payloadEnd - h.payloadStart, 11)
    assert.strictEqual(parseHeader(buf.subarray(0, n - 1), 8, h), "length", "a cut packet is refused")
  })

  it("a version negotiation packet lists the versions and is protected by its tag", () => {
    const buf = new Uint8Array(100)
    const n = writeVersionNegotiation(new Writer(buf), dcid, scid, [VERSION_1, 0x0a0a0a0a])
    const h = new Header()
    assert.isUndefined(parseHeader(buf.subarray(0, n), 8, h))
    assert.strictEqual(h.form, "version-negotiation")
    assert.deepStrictEqual(h.versions, [VERSION_1, 0x0a0a0a0a])
    buf[n - 6]! ^= 1
    assert.strictEqual(parseHeader(buf.subarray(0, n), 8, h), "tag")
  })
})

describe("MESSAGE frames", () => {
  type Frame = { tier: "None" | "Order" | "Delivery"; s: number; d: number; dBefore: number; frag?: { f: number; offset: number; total: number }; data?: Uint8Array }
  /** Reads every MESSAGE and MESSAGE_RUN frame of `r`; returns the messages and the frame types seen. */
  const readAll = (r: Reader, seen: { s: number; d: number; f: number }) => {
    const rprev = new Previous()
    const out: Array<MessageFrame> = []
    const types: Array<number> = []
    while (r.pos < r.end) {
      const type = r.u8()
      types.push(type)
      if (type === FrameType.MESSAGE_RUN) {
        const count = readRunCount(r, rprev)
        assert.isAbove(count, 0)
        for (let i = 0; i < count; i++) {
          const m = new MessageFrame()
          readRunMessage(r, rprev, seen, m)
          out.push(m)
        }
        continue
      }
      const m = new MessageFrame()
      assert.isTrue(readMessage(r, type, rprev, seen, m))
      out.push(m)
    }
    return { out, types }
  }
  const roundTrip = (frames: ReadonlyArray<Frame>) => {
    const buf = new Uint8Array(2000)
    const w = new Writer(buf)
    const prev = new Previous()
    for (const f of frames) {
      assert.isTrue(writeMessage(w, f, f.frag, f.data ?? Uint8Array.of(1, 2, 3), prev))
    }
    const seen = { s: frames[0]!.s - 1, d: frames[0]!.dBefore - 1, f: 99 }
    const { out, types } = readAll(new Reader(buf, 0, w.pos), seen)
    out.forEach((m, i) => assert.deepStrictEqual(m.data, frames[i]!.data ?? Uint8Array.of(1, 2, 3)))
    return { bytes: w.pos, out, types }
  }

  it("a run of equal-length single-message sets takes one MESSAGE_RUN frame after the first frame", () => {
    const run = Array.from({ length: 10 }, (_, i) => ({ tier: "Delivery" as const, s: 1000 + i, d: 5000 + i, dBefore: 5000 + i }))
    const { bytes, out, types } = roundTrip(run)
    // The first frame: type, ids byte, two 32-bit ids, length, data; then the run: type, 2-byte count, 9 × data.
    assert.strictEqual(bytes, (1 + 1 + 4 + 4 + 1 + 3) + (1 + 2) + 9 * 3)
    assert.deepStrictEqual(types, [FrameType.MESSAGE | 0x08 | 2, FrameType.MESSAGE_RUN])
    out.forEach((m, i) => {
      assert.strictEqual(m.tier, "Delivery")
      assert.strictEqual(m.s, 1000 + i)
      assert.strictEqual(m.d, 5000 + i)
      assert.strictEqual(m.dBefore, 5000 + i)
    })
  })

  it("a run ends at a change of length, of tier, at a fragment, at a gap in the ids and at another frame; Order runs keep dBefore", () => {
    const d = (n: number) => new Uint8Array(n).fill(n)
    const frames: Array<Frame> = [
      { tier: "Order", s: 10, d: -1, dBefore: 7, data: d(5) },
      { tier: "Order", s: 11, d: -1, dBefore: 7, data: d(5) }, // run (Order)
      { tier: "Order", s: 12, d: -1, dBefore: 7, data: d(5) }, // same run
      { tier: "Delivery", s: 13, d: 7, dBefore: 7, data: d(5) }, // tier changes: an N frame
      { tier: "Delivery", s: 14, d: 8, dBefore: 8, data: d(5) }, // a new run
      { tier: "Delivery", s: 15, d: 9, dBefore: 9, data: d(6) }, // length changes: an N frame
      { tier: "Delivery", s: 17, d: 10, dBefore: 10, data: d(6) }, // a gap in the set ids: explicit
      { tier: "None", s: -1, d: -1, dBefore: -1, data: d(6) }, // None between
      { tier: "Delivery", s: 18, d: 11, dBefore: 11, data: d(6) }, // a run continues the Delivery frame before the None
      { tier: "Delivery", s: 19, d: 12, dBefore: 12, frag: { f: 100, offset: 0, total: 12 }, data: d(6) }, // a fragment
      { tier: "Delivery", s: 20, d: 13, dBefore: 13, data: d(6) } // after a fragment: no run
    ]
    const { out, types } = roundTrip(frames)
    const RUN = FrameType.MESSAGE_RUN, M = FrameType.MESSAGE | 0x08
    assert.deepStrictEqual(types, [M | 1, RUN, M | 0x10 | 2, RUN, M | 0x10 | 2, M | 2, M, RUN, M | 0x10 | 0x04 | 2, M | 0x10 | 2])
    out.forEach((m, i) => {
      const f = frames[i]!
      assert.strictEqual(m.tier, f.tier, `frame ${i}`)
      if (f.tier !== "None") assert.deepStrictEqual([m.s, m.dBefore], [f.s, f.dBefore], `frame ${i}`)
      if (f.tier === "Delivery") assert.strictEqual(m.d, f.d, `frame ${i}`)
    })
  })

  it("refuses a MESSAGE_RUN with nothing to continue, after a fragment, with a count of 0 or past the packet's data", () => {
    const count = (bytes: ReadonlyArray<number>, before?: Frame) => {
      const buf = new Uint8Array(64)
      const w = new Writer(buf)
      const prev = new Previous()
      if (before !== undefined) writeMessage(w, before, before.frag, Uint8Array.of(1, 2, 3), prev)
      const start = w.pos
      for (const b of bytes) w.u8(b)
      const r = new Reader(buf, 0, w.pos)
      const rprev = new Previous()
      if (before !== undefined) assert.isTrue(readMessage(r, r.u8(), rprev, { s: 0, d: 0, f: 0 }, new MessageFrame()))
      assert.strictEqual(r.pos, start)
      return readRunCount(r, rprev)
    }
    const delivery: Frame = { tier: "Delivery", s: 5, d: 5, dBefore: 5 }
    assert.strictEqual(count([2, 9, 9, 9, 9, 9, 9]), -1, "no frame before")
    assert.strictEqual(count([1, 9, 9, 9], { tier: "None", s: -1, d: -1, dBefore: -1 }), -1, "only a None frame before")
    assert.strictEqual(count([1, 9, 9, 9], { ...delivery, frag: { f: 1, offset: 0, total: 9 } }), -1, "a fragment before")
    assert.strictEqual(count([0], delivery), -1, "count 0")
    assert.strictEqual(count([2, 9, 9, 9, 9, 9], delivery), -1, "5 bytes for two 3-byte messages")
    assert.strictEqual(count([0x40], delivery), -1, "a cut count")
    assert.strictEqual(count([2, 9, 9, 9, 9, 9, 9], delivery), 2)
  })

  it("decoding 20,000 mutated payloads of runs and frames (seeded) never throws and keeps every message inside its packet", () => {
    const rng = Prng.make(20261202)
    const inbox = new Inbox({ receiveWindow: 1 << 20, maxMessageSize: 65536, readyLimit: 1024, lossyBudget: 1 << 20, fragmentTimeout: 1000 })
    inbox.start(0, 0, 0)
    const payload = new Payload()
    const buf = new Uint8Array(1200)
    let decoded = 0
    for (let i = 0; i < 20_000; i++) {
      const w = new Writer(buf)
      const prev = new Previous()
      let s = rng.int(50), dv = rng.int(50)
      const length = 1 + rng.int(40)
      for (let k = 0, n = 1 + rng.int(12); k < n; k++) {
        const tier: Guarantee = rng.float() < 0.8 ? "Delivery" : rng.float() < 0.5 ? "Order" : "None"
        const ids = tier === "None" ? { tier, s: -1, d: -1, dBefore: -1 } : { tier, s: s++, d: tier === "Delivery" ? dv : -1, dBefore: dv }
        if (tier === "Delivery") dv++
        if (!writeMessage(w, ids, undefined, new Uint8Array(rng.float() < 0.8 ? length : 1 + rng.int(40)), prev)) break
      }
      const end = w.pos
      for (let k = rng.int(3); k > 0; k--) buf[rng.int(end)] = rng.float() < 0.5 ? rng.int(256) : buf[rng.int(end)]! ^ (1 << rng.int(8))
      const cut = rng.float() < 0.2 ? rng.int(end + 1) : end
      if (payload.decode(buf, 0, cut, false, inbox) !== undefined) continue
      decoded++
      for (let k = 0; k < payload.messages; k++) {
        const m = payload.messageFrames[k]!
        assert.isAtLeast(m.start, 0)
        assert.isAtMost(m.start + m.length, cut)
      }
    }
    assert.isAbove(decoded, 1000, "some mutated payloads still decode (and were checked)")
  })

  it("sets, Order after Delivery, retransmitted (older) ids and fragments round-trip", () => {
    const frames = [
      { tier: "Order" as const, s: 70_000, d: -1, dBefore: 2 ** 32 - 2 },
      { tier: "Delivery" as const, s: 70_001, d: 2 ** 32 - 2, dBefore: 2 ** 32 - 2 },
      { tier: "Delivery" as const, s: 70_002, d: 2 ** 32 + 1, dBefore: 2 ** 32 - 1 },
      { tier: "None" as const, s: -1, d: -1, dBefore: -1, frag: { f: 100, offset: 0, total: 9 } },
      { tier: "Delivery" as const, s: 69_000, d: 2 ** 32 - 500, dBefore: 2 ** 32 - 500, frag: { f: 101, offset: 3, total: 6 } }
    ]
    const { out } = roundTrip(frames)
    out.forEach((m, i) => {
      const f = frames[i]!
      assert.strictEqual(m.tier, f.tier)
      if (f.tier !== "None") {
        assert.strictEqual(m.s, f.s)
        assert.strictEqual(m.dBefore, f.dBefore)
      }
      if (f.tier === "Delivery") assert.strictEqual(m.d, f.d)
      if (f.frag !== undefined) assert.deepStrictEqual([m.f, m.offset, m.total], [f.frag.f, f.frag.offset, f.frag.total])
    })
  })

  it("refuses implied ids with nothing before them, a reserved tier, and a fragment past its total", () => {
    const frame = new MessageFrame()
    const seen = { s: 0, d: 0, f: 0 }
    assert.isFalse(readMessage(new Reader(Uint8Array.of(0)), 0x20 | 0x10 | 0x08 | 2, new Previous(), seen, frame), "N without a previous frame")
    assert.isFalse(readMessage(new Reader(Uint8Array.of(0)), 0x20 | 0x08 | 3, new Previous(), seen, frame), "tier 3")
    // F with a 32-bit fragment id 0, offset 5, total 6, length 3: past the total.
    const bad = Uint8Array.of(0, 0, 0, 0, 0, 5, 6, 3, 1, 2, 3)
    assert.isFalse(readMessage(new Reader(bad), 0x20 | 0x08 | 0x04, new Previous(), seen, frame))
  })
})

describe("transport parameters", () => {
  const params = {
    maxMessageSize: 65536,
    initialMaxData: 1 << 20,
    maxAckDelay: 5,
    idleTimeout: 10_000,
    maxDatagram: 1200,
    baseDatagram: 1200,
    initialSet: 7,
    initialDelivery: 2 ** 40,
    initialFragment: 0,
    heartbeat: 1000
  }

  it("round-trip, skipping parameters a later version adds", () => {
    const buf = new Uint8Array(200)
    const w = new Writer(buf)
    writeParams(w, params)
    // An unknown parameter (id 0x2a, reserved for encryption) with 3 bytes.
    w.varint(0x2a)
    w.varint(3)
    w.bytes(Uint8Array.of(1, 2, 3))
    const got = readParams(new Reader(buf, 0, w.pos), w.pos)
    assert.deepStrictEqual(got, params)
  })

  it("name what is missing or repeated", () => {
    const buf = new Uint8Array(200)
    const w = new Writer(buf)
    w.varint(0x01)
    w.varint(1)
    w.varint(5)
    assert.strictEqual(readParams(new Reader(buf, 0, w.pos), w.pos), "initialMaxData missing")
    w.varint(0x01)
    w.varint(1)
    w.varint(5)
    assert.strictEqual(readParams(new Reader(buf, 0, w.pos), w.pos), "parameter 1 given twice")
  })

  it("baseDatagram (0x08): absent means maxDatagram (an earlier build's mtu); under 256 or over maxDatagram is refused", () => {
    const encode = (p: typeof params, drop08: boolean) => {
      const buf = new Uint8Array(200)
      const w = new Writer(buf)
      writeParams(w, p)
      const bytes = buf.subarray(0, w.pos)
      if (!drop08) return bytes
      // What an earlier build wrote: the same parameters without the 0x08 triple (id, length, value).
      const t = new Writer(new Uint8Array(8))
      t.varint(0x08)
      t.varint(varintLength(p.baseDatagram))
      t.varint(p.baseDatagram)
      const triple = Buffer.from(t.buf.subarray(0, t.pos))
      const at = Buffer.from(bytes).indexOf(triple)
      assert.isAtLeast(at, 0)
      return Uint8Array.of(...bytes.subarray(0, at), ...bytes.subarray(at + triple.length))
    }
    const read = (b: Uint8Array) => readParams(new Reader(b, 0, b.length), b.length)
    const old = read(encode({ ...params, maxDatagram: 1400, baseDatagram: 1400 }, true))
    assert.strictEqual(typeof old === "string" ? old : old.baseDatagram, 1400)
    assert.deepStrictEqual(read(encode({ ...params, maxDatagram: 8952, baseDatagram: 1200 }, false)), { ...params, maxDatagram: 8952, baseDatagram: 1200 })
    assert.strictEqual(read(encode({ ...params, baseDatagram: 100 }, false)), "baseDatagram under 256 or over maxDatagram")
    assert.strictEqual(read(encode({ ...params, maxDatagram: 1200, baseDatagram: 1500 }, false)), "baseDatagram under 256 or over maxDatagram")
  })
})
