import { assert, describe, it } from "@effect/vitest"
import {
  computeDccpChecksum,
  coverageLength,
  crc32c,
  internetChecksum,
  type PseudoHeader,
  verifyDccpChecksum,
  writeDccpChecksum
} from "../../../src/dccp/engine/Checksum.ts"
import { encodePacket } from "../../../src/dccp/engine/Packet.ts"

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)))

const v4: PseudoHeader = { family: "ipv4", source: Uint8Array.of(10, 77, 0, 1), destination: Uint8Array.of(10, 77, 0, 2) }
const v6: PseudoHeader = {
  family: "ipv6",
  source: hex("fd77 0000 0000 0000 0000 0000 0000 0001"),
  destination: hex("fd77 0000 0000 0000 0000 0000 0000 0002")
}

/**
 * A DCCP-Request, 20 bytes, no options: ports 40000 → 5001 (9C40 1389),
 * Data Offset 5, CCVal/CsCov 0, checksum field zero, Type 0 with X=1 (01),
 * Reserved 00, Sequence Number 1, Service Code 42 (0000002A).
 */
const request = hex("9C40 1389 0500 0000 0100 0000 0000 0001 0000 002A")

describe("Checksum: Internet checksum (RFC 1071)", () => {
  it("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d", () => {
    assert.strictEqual(internetChecksum(hex("0001 f203 f4f5 f6f7")), 0x220d)
  })

  it("odd lengths pad the last byte with zero", () => {
    // 0x0102 + 0x0300 = 0x0402 → ~ = 0xfbfd
    assert.strictEqual(internetChecksum(Uint8Array.of(1, 2, 3)), 0xfbfd)
  })
})

describe("Checksum: DCCP pseudo-header (RFC 4340 §9.1)", () => {
  it("IPv4 Request known answer, worked by hand", () => {
    // Pseudo-header words: 0A4D 0001 0A4D 0002 0021 (zero, protocol 33) 0014 (length 20)
    //   sum = 0x14D2
    // Header words: 9C40 1389 0500 0000 0100 0000 0000 0001 0000 002A
    //   sum = 0xB5F4
    // 0x14D2 + 0xB5F4 = 0xCAC6, no carry; one's complement = 0x3539.
    assert.strictEqual(computeDccpChecksum(v4, request, request.length), 0x3539)
  })

  it("IPv6 Request known answer, worked by hand", () => {
    // Pseudo-header: FD77 + 0001 + FD77 + 0002 + 0000 0014 (32-bit length) + 0000 0021 (next header 33)
    //   = 0x1FB26; plus the header 0xB5F4 = 0x2B11A; folded 0xB11A + 2 = 0xB11C; complement 0x4EE3.
    assert.strictEqual(computeDccpChecksum(v6, request, request.length), 0x4ee3)
  })

  it("the encoder writes the same checksum and the verifier accepts it", () => {
    const bytes = encodePacket(
      { type: "Request", sourcePort: 40000, destinationPort: 5001, seq: 1, serviceCode: 42 },
      v4
    )
    assert.deepStrictEqual(Array.from(bytes.subarray(6, 8)), [0x35, 0x39])
    assert.isTrue(verifyDccpChecksum(v4, bytes, bytes.length))
    // Any single bit flip is detected.
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = bytes.slice()
      copy[bit >> 3]! ^= 1 << (bit & 7)
      assert.isFalse(verifyDccpChecksum(v4, copy, copy.length), `bit ${bit}`)
    }
    // The wrong addresses (or family) fail.
    assert.isFalse(verifyDccpChecksum({ ...v4, destination: Uint8Array.of(10, 77, 0, 3) }, bytes, bytes.length))
    assert.isFalse(verifyDccpChecksum(v6, bytes, bytes.length))
  })
})

describe("Checksum: partial coverage (RFC 4340 §9.2)", () => {
  /** A DCCP-Data with CsCov=1: Data Offset 4, type 2 X=1 (05), seq 10, 10 bytes "0123456789". */
  const data = new Uint8Array([...hex("9C40 1389 0401 0000 0500 0000 0000 000A"), ...new TextEncoder().encode("0123456789")])

  it("coverage length: 0 = all, n = header + (n-1)*4, too large = invalid", () => {
    assert.strictEqual(coverageLength(16, 0, 26), 26)
    assert.strictEqual(coverageLength(16, 1, 26), 16)
    assert.strictEqual(coverageLength(16, 2, 26), 20)
    assert.strictEqual(coverageLength(16, 3, 26), 24)
    assert.strictEqual(coverageLength(16, 4, 26), undefined)
    assert.strictEqual(coverageLength(16, 15, 2000), 16 + 56)
  })

  it("CsCov=1 covers the header only, but the pseudo-header has the full length", () => {
    // Pseudo: 0A4D 0001 0A4D 0002 0021 001A (length 26, not 16) = 0x14D8.
    // Header: 9C40 1389 0401 0000 0500 0000 0000 000A = 0xB8D4.
    // 0x14D8 + 0xB8D4 = 0xCDAC → 0x3253.
    assert.strictEqual(computeDccpChecksum(v4, data, 16), 0x3253)
    const packet = data.slice()
    writeDccpChecksum(v4, packet, 16)
    assert.isTrue(verifyDccpChecksum(v4, packet, 16))
    // Payload corruption is outside the coverage and goes unnoticed.
    packet[20]! ^= 0xff
    assert.isTrue(verifyDccpChecksum(v4, packet, 16))
    // Header corruption is caught.
    packet[11]! ^= 1
    assert.isFalse(verifyDccpChecksum(v4, packet, 16))
    // Using the covered length in the pseudo-header (a classic mistake) gives a different sum.
    assert.notStrictEqual(computeDccpChecksum(v4, data.subarray(0, 16), 16), 0x3253)
  })

  it("the encoder honours CsCov", () => {
    const bytes = encodePacket(
      { type: "Data", sourcePort: 40000, destinationPort: 5001, seq: 10, cscov: 1, payload: new TextEncoder().encode("0123456789") },
      v4
    )
    assert.deepStrictEqual(Array.from(bytes.subarray(6, 8)), [0x32, 0x53])
  })
})

describe("Checksum: CRC-32c (RFC 4340 §9.3)", () => {
  it("known answers (the check value and RFC 3720 §B.4 vectors)", () => {
    assert.strictEqual(crc32c(new TextEncoder().encode("123456789")), 0xe3069283)
    assert.strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa)
    assert.strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
    assert.strictEqual(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e)
    assert.strictEqual(crc32c(new Uint8Array(0)), 0)
  })
})
