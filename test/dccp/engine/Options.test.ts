import { assert, describe, it } from "@effect/vitest"
import {
  AckState,
  decodeAckVector,
  decodeDataDropped,
  DropState,
  encodeAckVectorCells,
  encodeDataDropped,
  isPermittedOn,
  OptionType,
  OptionWriter,
  parseOptions
} from "../../../src/dccp/engine/Options.ts"
import { PACKET_TYPES } from "../../../src/dccp/engine/Packet.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"

const bytes = (...b: Array<number>) => Uint8Array.from(b)

const only = (area: Uint8Array, type: Parameters<typeof parseOptions>[1] = "Ack") => {
  const parsed = parseOptions(area, type)
  assert.isUndefined(parsed.failure)
  assert.isFalse(parsed.truncated)
  assert.strictEqual(parsed.options.length, 1)
  return parsed.options[0]!.option
}

describe("Options: every RFC 4340 option round-trips through the writer", () => {
  it("Slow Receiver (2)", () => {
    const w = new OptionWriter(100)
    w.addRaw(OptionType.SlowReceiver)
    assert.deepStrictEqual(Array.from(w.finish()), [2, 0, 0, 0])
    assert.deepStrictEqual(only(w.finish()), { kind: "SlowReceiver" })
  })

  it("Change L/R and Confirm L/R (32–35), including an empty Confirm", () => {
    for (const [kind, end, type] of [
      ["Change", "L", 32],
      ["Confirm", "L", 33],
      ["Change", "R", 34],
      ["Confirm", "R", 35]
    ] as const) {
      const w = new OptionWriter(100)
      w.addFeature(kind, end, 1, [2, 3])
      const area = w.finish()
      assert.deepStrictEqual(Array.from(area), [type, 5, 1, 2, 3, 0, 0, 0])
      const o = only(area)
      assert.strictEqual(o.kind, kind)
      if (o.kind === "Change" || o.kind === "Confirm") {
        assert.strictEqual(o.end, end)
        assert.strictEqual(o.feature, 1)
        assert.deepStrictEqual(Array.from(o.value), [2, 3])
      }
    }
    const empty = only(bytes(33, 3, 200, 0))
    assert.deepStrictEqual(empty.kind === "Confirm" ? Array.from(empty.value) : undefined, [])
  })

  it("Mandatory (1) marks the next option only", () => {
    const w = new OptionWriter(100)
    w.addFeature("Change", "L", 2, [0], true)
    w.addTimestamp(7)
    const parsed = parseOptions(w.finish(), "Response")
    assert.deepStrictEqual(parsed.options.map((o) => [o.type, o.mandatory]), [[32, true], [41, false]])
  })

  it("Init Cookie (36), up to 253 bytes", () => {
    const cookie = Uint8Array.from({ length: 253 }, (_, i) => i)
    const w = new OptionWriter(1020)
    assert.isTrue(w.addRaw(OptionType.InitCookie, cookie))
    assert.isFalse(new OptionWriter(1020).addRaw(OptionType.InitCookie, new Uint8Array(254)))
    const o = only(w.finish(), "Response")
    assert.deepStrictEqual(o.kind === "InitCookie" ? Array.from(o.cookie) : [], Array.from(cookie))
  })

  it("NDP Count (37), 1–6 bytes", () => {
    for (const n of [1, 255, 256, 65535, 65536, 2 ** 32, 2 ** 40 + 5]) {
      const w = new OptionWriter(100)
      w.addNdpCount(n)
      assert.deepStrictEqual(only(w.finish(), "Data"), { kind: "NdpCount", count: n })
    }
  })

  it("Ack Vector (38/39) splits across options above 253 cells", () => {
    const cells = Uint8Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? 0x3f : 0xc0))
    const w = new OptionWriter(1020)
    assert.strictEqual(w.addAckVector(cells, 1), 300)
    const parsed = parseOptions(w.finish(), "Ack")
    assert.deepStrictEqual(parsed.options.map((o) => o.type), [39, 39])
    const joined = parsed.options.flatMap((o) => (o.option.kind === "AckVector" ? Array.from(o.option.cells) : []))
    assert.deepStrictEqual(joined, Array.from(cells))
    // Only as many cells as fit are written.
    const small = new OptionWriter(12)
    assert.strictEqual(small.addAckVector(cells), 10)
  })

  it("Data Dropped (40)", () => {
    const w = new OptionWriter(100)
    w.addRaw(OptionType.DataDropped, [0x05, 0x92])
    assert.deepStrictEqual(only(w.finish()), { kind: "DataDropped", blocks: bytes(0x05, 0x92) })
  })

  it("Timestamp (41), Timestamp Echo with 0/2/4 bytes elapsed (42), Elapsed Time (43)", () => {
    const w = new OptionWriter(100)
    w.addTimestamp(0xfeedface)
    w.addTimestampEcho(0x01020304, undefined)
    w.addTimestampEcho(0x01020304, 500)
    w.addTimestampEcho(0x01020304, 70_000)
    w.addElapsedTime(65_535)
    w.addElapsedTime(65_536)
    const parsed = parseOptions(w.finish(), "Ack")
    assert.isUndefined(parsed.failure)
    assert.deepStrictEqual(parsed.options.map((o) => o.option), [
      { kind: "Timestamp", value: 0xfeedface },
      { kind: "TimestampEcho", value: 0x01020304, elapsed: undefined },
      { kind: "TimestampEcho", value: 0x01020304, elapsed: 500 },
      { kind: "TimestampEcho", value: 0x01020304, elapsed: 70_000 },
      { kind: "ElapsedTime", elapsed: 65_535 },
      { kind: "ElapsedTime", elapsed: 65_536 }
    ])
    assert.deepStrictEqual(parsed.options.map((o) => o.value.length), [4, 4, 6, 8, 2, 4])
  })

  it("Data Checksum (44)", () => {
    const w = new OptionWriter(100)
    w.addDataChecksum(0xe3069283)
    assert.deepStrictEqual(only(w.finish(), "Data"), { kind: "DataChecksum", crc: 0xe3069283 })
  })

  it("CCID-specific options (128–255) and unknown ones are kept for their owner", () => {
    const parsed = parseOptions(bytes(192, 6, 0, 0, 0, 9, 100, 2, 3, 0), "Ack")
    assert.deepStrictEqual(parsed.options.map((o) => o.option), [
      { kind: "Ccid", type: 192, data: bytes(0, 0, 0, 9) },
      { kind: "Unknown", type: 100, data: new Uint8Array(0) },
      { kind: "Unknown", type: 3, data: new Uint8Array(0) }
    ])
  })
})

describe("Options: padding to 32 bits (§5.8)", () => {
  it("pads with Padding (0) and keeps within the budget", () => {
    for (let n = 0; n < 9; n++) {
      const w = new OptionWriter(100)
      for (let i = 0; i < n; i++) w.addRaw(OptionType.SlowReceiver)
      const area = w.finish()
      assert.strictEqual(area.length % 4, 0)
      assert.strictEqual(area.length, Math.ceil(n / 4) * 4)
      assert.isTrue(Array.from(area.subarray(n)).every((b) => b === 0))
    }
    const w = new OptionWriter(8)
    assert.isTrue(w.addTimestamp(1))
    assert.isFalse(w.addTimestamp(2)) // 12 bytes > 8
    assert.strictEqual(w.finish().length, 8)
  })
})

describe("Options: malformed lengths and Mandatory errors", () => {
  it("a length below 2 or past the end ignores the rest of the options (§5.8)", () => {
    for (const area of [bytes(41, 0, 1, 2), bytes(41, 1, 1, 2), bytes(2, 41, 9, 0, 0, 0), bytes(2, 41)]) {
      const parsed = parseOptions(area, "Ack")
      assert.isTrue(parsed.truncated, Array.from(area).join(","))
      assert.isUndefined(parsed.failure)
    }
    // Options before the bad one are kept.
    assert.deepStrictEqual(parseOptions(bytes(2, 41, 200, 0), "Ack").options.map((o) => o.type), [2])
  })

  it("known options with the wrong length are an Option Error (5) naming the option", () => {
    const cases: Array<[Uint8Array, number]> = [
      [bytes(41, 5, 1, 2, 3), 41], // Timestamp must be 6
      [bytes(42, 7, 1, 2, 3, 4, 5), 42], // Timestamp Echo 6, 8 or 10
      [bytes(43, 3, 1), 43], // Elapsed Time 4 or 6
      [bytes(43, 5, 1, 2, 3), 43],
      [bytes(44, 5, 1, 2, 3), 44], // Data Checksum 6
      [bytes(37, 2), 37], // NDP Count 3–8
      [bytes(37, 9, 1, 2, 3, 4, 5, 6, 7), 37],
      [bytes(32, 2), 32] // Change without a feature number
    ]
    for (const [area, type] of cases) {
      const parsed = parseOptions(area, "Ack")
      assert.strictEqual(parsed.failure?.resetCode, 5, `option ${type}`)
      assert.strictEqual(parsed.failure?.data[0], type)
    }
    // Data 2–3 are the first value bytes (Linux: Reset code 5, data 21 08 01 for Confirm L).
    assert.deepStrictEqual(parseOptions(bytes(41, 5, 0xaa, 0xbb, 0xcc), "Ack").failure?.data, [41, 0xaa, 0xbb])
  })

  it("Mandatory last, or before Mandatory or Padding, is an Option Error (§5.8.2)", () => {
    for (const area of [bytes(2, 1), bytes(1, 1, 2, 0), bytes(1, 0, 0, 0)]) {
      const parsed = parseOptions(area, "Ack")
      assert.strictEqual(parsed.failure?.resetCode, 5, Array.from(area).join(","))
      assert.strictEqual(parsed.failure?.data[0], 1)
    }
  })

  it("Mandatory before an option nobody understands is a Mandatory Error (6)", () => {
    assert.deepStrictEqual(parseOptions(bytes(1, 3, 0, 0), "Ack").failure, { resetCode: 6, data: [3, 0, 0] })
    assert.deepStrictEqual(parseOptions(bytes(1, 100, 4, 7, 8), "Ack").failure, { resetCode: 6, data: [100, 7, 8] })
    // Without Mandatory, unknown options are ignored.
    assert.isUndefined(parseOptions(bytes(100, 4, 7, 8), "Ack").failure)
  })

  it("options marked N are ignored on Data packets, Mandatory included (Table 3)", () => {
    const area = bytes(1, 32, 4, 1, 2, 0, 0, 0)
    const onData = parseOptions(area, "Data")
    assert.isUndefined(onData.failure)
    assert.strictEqual(onData.options.length, 0)
    const onAck = parseOptions(area, "Ack")
    assert.strictEqual(onAck.options.length, 1)
    assert.isTrue(onAck.options[0]!.mandatory)
    // Ack Vector, Data Dropped and Elapsed Time need an Acknowledgement Number.
    for (const type of [38, 40, 43]) {
      assert.isFalse(isPermittedOn(type, "Request"))
      assert.isFalse(isPermittedOn(type, "Data"))
      assert.isTrue(isPermittedOn(type, "DataAck"))
    }
    for (const packetType of PACKET_TYPES) assert.isTrue(isPermittedOn(OptionType.Timestamp, packetType))
  })
})

describe("Options: Ack Vector run-length encoding (§11.4)", () => {
  it("a cell holds a 2-bit state and a run length counting the packets after the first", () => {
    assert.deepStrictEqual(Array.from(encodeAckVectorCells([{ state: 0, length: 1 }])), [0x00])
    assert.deepStrictEqual(Array.from(encodeAckVectorCells([{ state: 0, length: 64 }])), [0x3f])
    assert.deepStrictEqual(Array.from(encodeAckVectorCells([{ state: 0, length: 65 }])), [0x3f, 0x00])
    assert.deepStrictEqual(Array.from(encodeAckVectorCells([{ state: 3, length: 2 }, { state: 1, length: 3 }])), [0xc1, 0x42])
  })

  it("decodes back from the Acknowledgement Number, through the 48-bit wrap", () => {
    const runs = [
      { state: AckState.Received, length: 3 },
      { state: AckState.NotReceived, length: 70 },
      { state: AckState.ReceivedMarked, length: 1 },
      { state: AckState.Received, length: 200 }
    ]
    const ackno = 5
    const decoded = decodeAckVector(ackno, encodeAckVectorCells(runs))
    // Merge cells of the same state back into runs.
    const merged: Array<{ state: number; length: number; high: number }> = []
    for (const r of decoded) {
      const last = merged[merged.length - 1]
      if (last !== undefined && last.state === r.state) last.length += r.length
      else merged.push({ ...r })
    }
    assert.deepStrictEqual(merged.map((r) => [r.state, r.length]), runs.map((r) => [r.state, r.length]))
    assert.strictEqual(merged[0]!.high, 5)
    assert.strictEqual(merged[1]!.high, 2)
    assert.strictEqual(merged[2]!.high, Seq.add(5, -73))
    assert.strictEqual(merged[3]!.high, Seq.add(5, -74))
  })
})

describe("Options: Data Dropped blocks (§11.7)", () => {
  it("normal blocks hold 7-bit run lengths, drop blocks a 3-bit state and 4-bit run length", () => {
    const runs = [
      { dropState: undefined, length: 5 },
      { dropState: DropState.ReceiveBuffer, length: 2 },
      { dropState: undefined, length: 130 },
      { dropState: DropState.Corrupt, length: 20 }
    ]
    const blocks = encodeDataDropped(runs)
    assert.deepStrictEqual(Array.from(blocks), [0x04, 0xa1, 0x7f, 0x01, 0xbf, 0xb3])
    const decoded = decodeDataDropped(100, blocks)
    assert.deepStrictEqual(
      decoded.map((r) => [r.dropState, r.length, r.high]),
      [
        [undefined, 5, 100],
        [2, 2, 95],
        [undefined, 128, 93],
        [undefined, 2, Seq.add(93, -128)],
        [3, 16, Seq.add(93, -130)],
        [3, 4, Seq.add(93, -146)]
      ]
    )
  })
})
