import { assert, describe, it } from "@effect/vitest"
import {
  decodePacket,
  decodePacketInto,
  emptyPacket,
  encodedLength,
  encodePacket,
  encodePacketInto,
  fixedHeaderLength,
  hasAck,
  PACKET_TYPE_CODE,
  PACKET_TYPES,
  type PacketType,
  ResetCode
} from "../../../src/dccp/engine/Packet.ts"

const M = 2 ** 48

describe("Packet: the ten types round-trip with X=1 (RFC 4340 §5)", () => {
  const minimum: Record<PacketType, number> = {
    Request: 20,
    Response: 28,
    Data: 16,
    Ack: 24,
    DataAck: 24,
    CloseReq: 24,
    Close: 24,
    Reset: 28,
    Sync: 24,
    SyncAck: 24
  }

  for (const type of PACKET_TYPES) {
    it(`${type}: minimum header ${minimum[type]} bytes, fields survive`, () => {
      assert.strictEqual(fixedHeaderLength(type, true), minimum[type])
      const options = Uint8Array.of(41, 6, 1, 2, 3, 4, 0, 0)
      const payload = Uint8Array.of(9, 8, 7)
      const bytes = encodePacket({
        type,
        sourcePort: 65535,
        destinationPort: 1,
        seq: M - 1,
        ack: hasAck(type) ? 0x123456789abc : undefined,
        ccval: 9,
        cscov: 0,
        serviceCode: 0xdeadbeef,
        resetCode: ResetCode.BadServiceCode,
        resetData: [1, 2, 3],
        options,
        payload
      })
      assert.strictEqual(bytes.length, minimum[type] + options.length + payload.length)
      const d = decodePacket(bytes)
      assert.isTrue(d.ok)
      if (!d.ok) return
      const p = d.packet
      assert.strictEqual(p.type, type)
      assert.strictEqual(p.sourcePort, 65535)
      assert.strictEqual(p.destinationPort, 1)
      assert.strictEqual(p.seq, M - 1)
      assert.strictEqual(p.ccval, 9)
      assert.isTrue(p.extended)
      assert.strictEqual(p.dataOffset, minimum[type] + 8)
      assert.deepStrictEqual(Array.from(p.options), Array.from(options))
      assert.deepStrictEqual(Array.from(p.payload), [9, 8, 7])
      assert.strictEqual(p.ack, hasAck(type) ? 0x123456789abc : undefined)
      assert.strictEqual(p.serviceCode, type === "Request" || type === "Response" ? 0xdeadbeef : undefined)
      assert.strictEqual(p.resetCode, type === "Reset" ? 8 : undefined)
      if (type === "Reset") assert.deepStrictEqual(Array.from(p.resetData!), [1, 2, 3])
      // The Type field sits in bits 1–4 of byte 8 with X in bit 0.
      assert.strictEqual(bytes[8], (PACKET_TYPE_CODE[type] << 1) | 1)
    })
  }
})

describe("Packet: short sequence numbers (X=0, §5.1)", () => {
  for (const type of ["Data", "Ack", "DataAck"] as const) {
    it(`${type} encodes 24-bit numbers`, () => {
      const bytes = encodePacket({ type, sourcePort: 1, destinationPort: 2, seq: 0xabcdef12_3456, ack: 0x00ff_fedcba, short: true })
      assert.strictEqual(bytes.length, type === "Data" ? 12 : 16)
      const d = decodePacket(bytes)
      assert.isTrue(d.ok)
      if (!d.ok) return
      assert.isFalse(d.packet.extended)
      assert.strictEqual(d.packet.seq, 0x123456)
      if (type !== "Data") assert.strictEqual(d.packet.ack, 0xfedcba)
    })
  }

  it("X=0 is refused for every other type, on encode and decode", () => {
    for (const type of ["Request", "Response", "CloseReq", "Close", "Reset", "Sync", "SyncAck"] as const) {
      assert.throws(() => encodePacket({ type, sourcePort: 1, destinationPort: 2, seq: 1, short: true }))
      const bytes = encodePacket({ type, sourcePort: 1, destinationPort: 2, seq: 1, ack: 1 })
      bytes[8]! &= 0xfe
      const d = decodePacket(bytes)
      assert.isFalse(d.ok)
      if (!d.ok) assert.strictEqual(d.error, "short-seq-for-type")
    }
  })
})

describe("Packet: step 1 header checks (§8.5)", () => {
  const valid = encodePacket({ type: "Ack", sourcePort: 1, destinationPort: 2, seq: 5, ack: 4 })

  it("too short: under 12 bytes, or under 16 with X=1", () => {
    for (let n = 0; n < 16; n++) {
      const d = decodePacket(valid.subarray(0, n))
      assert.isFalse(d.ok)
      if (!d.ok) assert.strictEqual(d.error, "too-short")
    }
  })

  it("unknown types 10–15 are dropped (10 is RFC 5596 Listen)", () => {
    for (let t = 10; t < 16; t++) {
      const bytes = valid.slice()
      bytes[8] = (t << 1) | 1
      const d = decodePacket(bytes)
      assert.isFalse(d.ok)
      if (!d.ok) assert.strictEqual(d.error, "unknown-type")
    }
  })

  it("Data Offset smaller than the fixed header, or beyond the packet", () => {
    const small = valid.slice()
    small[4] = 5 // 20 bytes < 24 for an Ack
    const d1 = decodePacket(small)
    assert.isFalse(d1.ok)
    if (!d1.ok) assert.strictEqual(d1.error, "data-offset-too-small")
    const large = valid.slice()
    large[4] = 7 // 28 bytes > 24
    const d2 = decodePacket(large)
    assert.isFalse(d2.ok)
    if (!d2.ok) assert.strictEqual(d2.error, "data-offset-too-large")
  })

  it("CsCov larger than the packet", () => {
    const bytes = encodePacket({ type: "Data", sourcePort: 1, destinationPort: 2, seq: 5, payload: new Uint8Array(8), cscov: 3 })
    assert.isTrue(decodePacket(bytes).ok)
    bytes[5] = 4 // header 16 + 3*4 = 28 > 24
    const d = decodePacket(bytes)
    assert.isFalse(d.ok)
    if (!d.ok) assert.strictEqual(d.error, "cscov-too-large")
  })

  it("reserved bits are ignored on receipt", () => {
    const bytes = valid.slice()
    bytes[8]! |= 0xe0 // Res
    bytes[9] = 0xff // Reserved (X=1)
    bytes[16] = 0xff // ack subheader reserved
    bytes[17] = 0xff
    const d = decodePacket(bytes)
    assert.isTrue(d.ok)
    if (d.ok) {
      assert.strictEqual(d.packet.type, "Ack")
      assert.strictEqual(d.packet.seq, 5)
      assert.strictEqual(d.packet.ack, 4)
    }
  })
})

describe("Packet: reset codes (§5.6)", () => {
  it("has the RFC numbering", () => {
    assert.deepStrictEqual(ResetCode, {
      Unspecified: 0,
      Closed: 1,
      Aborted: 2,
      NoConnection: 3,
      PacketError: 4,
      OptionError: 5,
      MandatoryError: 6,
      ConnectionRefused: 7,
      BadServiceCode: 8,
      TooBusy: 9,
      BadInitCookie: 10,
      AggressionPenalty: 11
    })
  })
})

describe("encodePacketInto", () => {
  it("writes at an offset of a dirty buffer the bytes encodePacket returns, checksum included", () => {
    const pseudo = { family: "ipv4" as const, source: Uint8Array.of(10, 0, 0, 1), destination: Uint8Array.of(10, 0, 0, 2) }
    const cases = [
      { type: "DataAck" as const, sourcePort: 1, destinationPort: 2, seq: 0x1234_5678_9abc, ack: 77, ccval: 5, options: Uint8Array.of(1, 1, 1, 1), payload: Uint8Array.of(9, 8, 7) },
      { type: "Data" as const, sourcePort: 3, destinationPort: 4, seq: 0xabcdef, short: true, payload: Uint8Array.of(1, 2, 3, 4, 5) },
      { type: "Ack" as const, sourcePort: 3, destinationPort: 4, seq: 0xabcdef, ack: 0x123456, short: true },
      { type: "Reset" as const, sourcePort: 5, destinationPort: 6, seq: 1, ack: 2, resetCode: 3, resetData: [1, 2, 3] },
      { type: "Request" as const, sourcePort: 5, destinationPort: 6, seq: 1, serviceCode: 0xdeadbeef }
    ]
    for (const fields of cases) {
      const expected = encodePacket(fields, pseudo)
      assert.strictEqual(encodedLength(fields), expected.length)
      const out = new Uint8Array(expected.length + 9).fill(0xff)
      assert.strictEqual(encodePacketInto(out, 5, fields, pseudo), expected.length)
      assert.deepStrictEqual(out.subarray(5, 5 + expected.length), expected, fields.type)
      assert.deepStrictEqual([...out.subarray(0, 5), ...out.subarray(5 + expected.length)], new Array(9).fill(0xff))
    }
    assert.throws(() => encodePacketInto(new Uint8Array(20), 4, cases[0]!, pseudo), RangeError)
  })
})

describe("decodePacketInto", () => {
  it("rewrites every field of a reused record: a packet after another keeps nothing of it, and errors match decodePacket", () => {
    const record = emptyPacket()
    const reset = encodePacket({
      type: "Reset",
      sourcePort: 1,
      destinationPort: 2,
      seq: 7,
      ack: 6,
      resetCode: ResetCode.Closed,
      resetData: [1, 2, 3],
      options: Uint8Array.of(41, 6, 1, 2, 3, 4, 0, 0)
    })
    const data = encodePacket({ type: "Data", sourcePort: 3, destinationPort: 4, seq: 9, short: true, payload: Uint8Array.of(5, 6) })
    for (const bytes of [reset, data, reset]) {
      assert.isUndefined(decodePacketInto(bytes, record))
      const fresh = decodePacket(bytes)
      assert.isTrue(fresh.ok)
      if (!fresh.ok) return
      assert.deepStrictEqual({ ...record }, { ...fresh.packet })
    }
    // A Data packet after the Reset: no reset fields, no options, the payload only.
    assert.isUndefined(decodePacketInto(data, record))
    assert.isUndefined(record.resetCode)
    assert.isUndefined(record.ack)
    assert.strictEqual(record.options.length, 0)
    assert.deepStrictEqual([...record.payload], [5, 6])
    for (const bad of [new Uint8Array(11), Uint8Array.of(0, 1, 0, 2, 1, 0, 0, 0, 2 * 15 + 1, 0, 0, 0, 0, 0, 0, 0)]) {
      const fresh = decodePacket(bad)
      assert.isFalse(fresh.ok)
      if (fresh.ok) return
      assert.strictEqual(decodePacketInto(bad, record), fresh.error)
    }
  })
})
