/**
 * The CCID 3 receiver's loss history (RFC 5348 §5, RFC 4342 §6.1, §10.2):
 * lost packets after NDUPACK later arrivals, NDP Counts telling lost data from
 * lost acknowledgements, loss events grouped by window counter, data-length
 * intervals, the history across the 48-bit wrap, and the Loss Intervals option.
 */
import { assert, describe, it } from "@effect/vitest"
import { decodeLossIntervals, encodeLossIntervals, LossHistory } from "../../../src/dccp/engine/LossIntervals.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"

const FIRST = 100 // the synthetic first interval used in these tests

/** Feeds data packets `seqs` (offsets from `base`), each with window counter `ccval(offset)`. */
const feed = (h: LossHistory, base: number, offsets: ReadonlyArray<number>, ccval: (offset: number) => number = () => 0) =>
  offsets.map((o) => h.record(Seq.add(base, o), true, ccval(o) & 15, 0, () => FIRST))

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)

describe("LossHistory: lost packets (RFC 5348 §5.1)", () => {
  it("a missing packet is lost once three later packets arrived, not before", () => {
    const h = new LossHistory()
    const out = feed(h, 1000, [0, 1, 2, 4, 5])
    assert.deepStrictEqual(out, ["in-order", "in-order", "in-order", "in-order", "in-order"])
    assert.strictEqual(h.lostPackets, 0)
    assert.strictEqual(feed(h, 1000, [6])[0], "new-loss-event")
    assert.strictEqual(h.lostPackets, 1)
    assert.strictEqual(h.lossEvents, 1)
  })

  it("a late packet fills its hole before the third later arrival: no loss", () => {
    const h = new LossHistory()
    assert.deepStrictEqual(feed(h, 1000, [0, 1, 3, 4, 2, 5, 6, 7]), [
      "in-order", "in-order", "in-order", "in-order", "filled-hole", "in-order", "in-order", "in-order"
    ])
    assert.strictEqual(h.lostPackets, 0)
    assert.isFalse(h.hasLoss)
    assert.strictEqual(feed(h, 1000, [4])[0], "duplicate")
  })

  it("filling the middle of a hole splits it; each part is decided on its own", () => {
    const h = new LossHistory()
    feed(h, 0, [0, 5]) // hole 1..4
    feed(h, 0, [3]) // holes 1..2 (3 and 5 after it) and 4 (5 after it)
    feed(h, 0, [6]) // 1..2 has 3, 5, 6 after it: lost; 4 has 5, 6
    assert.strictEqual(h.lostPackets, 2)
    feed(h, 0, [7]) // 4 has 5, 6, 7
    assert.strictEqual(h.lostPackets, 3)
  })

  it("the NDP Count of the packet after a hole says how many of its packets carried no data (RFC 4340 §7.7)", () => {
    const h = new LossHistory()
    h.record(10, true, 0, 0, () => FIRST)
    // 11 and 12 are missing; packet 13 says the 2 packets before it were non-data.
    h.record(13, true, 0, 2, () => FIRST)
    for (const s of [14, 15, 16]) h.record(s, true, 0, 0, () => FIRST)
    assert.strictEqual(h.lostPackets, 0)
    // 18 missing, 19 says only 0 non-data packets preceded it: a data loss.
    h.record(17, true, 0, 0, () => FIRST)
    for (const s of [19, 20, 21]) h.record(s, true, 0, 0, () => FIRST)
    assert.strictEqual(h.lostPackets, 1)
  })
})

describe("LossHistory: loss events and intervals (RFC 5348 §5.2–5.3, RFC 4342 §10.2)", () => {
  it("losses within one RTT (window counter ≤ 4 apart) are one event; later ones start the next", () => {
    const h = new LossHistory()
    // Window counter advances every 10 packets: 40 packets per RTT.
    const cc = (o: number) => Math.floor(o / 10)
    feed(h, 0, range(0, 20), cc)
    feed(h, 0, range(21, 30), cc) // 20 lost: its counter is that of 19, 1
    // 30 lost at counter 2, within the RTT of 20: the same event; packet 60
    // (counter 6 > 1 + 4) closes the event to further losses.
    feed(h, 0, range(31, 100), cc)
    assert.strictEqual(h.lostPackets, 2)
    assert.strictEqual(h.lossEvents, 1)
    feed(h, 0, range(101, 120), cc) // 100 lost, ccval 9: a new event
    assert.strictEqual(h.lossEvents, 2)
    // I_1 ran from 20 to 99, all data: 80 packets; I_0 from 100 to 119: 20.
    // The event's lossy part runs from 20 to 30: 11 packets.
    const records = h.records()
    assert.deepStrictEqual(records.map((r) => r.dataLength), [20, 80, FIRST])
    assert.deepStrictEqual(records.map((r) => r.lossLength), [1, 11, 1])
    assert.deepStrictEqual(records.map((r) => r.losslessLength), [19, 69, FIRST - 1])
  })

  it("the first loss seeds the history with the synthetic interval (RFC 5348 §6.3.1), asked once", () => {
    const h = new LossHistory()
    let asked = 0
    const first = () => {
      asked++
      return 250
    }
    for (let s = 0; s < 400; s++) if (s % 100 !== 50) h.record(s, true, Math.floor(s / 20) & 15, 0, first)
    assert.strictEqual(asked, 1)
    assert.strictEqual(h.lossEvents, 4)
    // Losses at 50, 150, 250, 350: I_0 is 350..399, then three closed intervals
    // of 100 and the synthetic 250. A lost data packet counts in its interval.
    assert.deepStrictEqual(h.records().map((r) => r.dataLength), [50, 100, 100, 100, 250])
    // I_tot0 = (50 + 100 + 100 + 100)/4 < I_tot1 = (100 + 100 + 100 + 250)/4.
    assert.approximately(h.meanInterval()!, 137.5, 1e-9)
    assert.approximately(h.lossEventRate(), 1 / 137.5, 1e-12)
  })

  it("non-data packets do not count in the intervals' data lengths (RFC 4342 §6.1.1)", () => {
    const h = new LossHistory()
    const first = () => 1000
    for (let s = 0; s < 10; s++) h.record(s, true, 0, 0, first)
    for (const s of [11, 12, 13]) h.record(s, true, 0, 0, first) // 10 lost: the event starts
    // An acknowledgement among the data (seq 14), then more data.
    h.record(14, false, 0, 0, first)
    for (let s = 15; s < 30; s++) h.record(s, true, 0, 1, first)
    const open = h.records()[0]!
    // I_0 runs from the lost 10 to 29: 20 sequence numbers, 19 of them data.
    assert.strictEqual(open.lossLength + open.losslessLength, 20)
    assert.strictEqual(open.dataLength, 19)
  })

  it("keeps at most nine intervals (I_0..I_8)", () => {
    const h = new LossHistory()
    for (let s = 0; s < 2000; s++) if (s % 100 !== 99) h.record(s, true, Math.floor(s / 5) & 15, 0, () => FIRST)
    assert.strictEqual(h.lossEvents, 19)
    assert.strictEqual(h.count, 9)
    // 1999 is missing with nothing after it, so the last loss seen is 1899:
    // I_0 runs from there to 1998, and the eight kept closed intervals are 100 each.
    assert.deepStrictEqual(h.records().map((r) => r.dataLength), Array(9).fill(100))
  })

  it("works across the 48-bit wrap of sequence numbers", () => {
    const h = new LossHistory()
    const base = 2 ** 48 - 150
    const cc = (o: number) => Math.floor(o / 10)
    const offsets = range(0, 400).filter((o) => o !== 100 && o !== 200 && o !== 300)
    feed(h, base, offsets, cc)
    assert.strictEqual(h.lossEvents, 3)
    assert.strictEqual(h.head, Seq.add(base, 399))
    // 100 is before the wrap, 200 and 300 after it: every interval is 100 long.
    assert.deepStrictEqual(h.records().map((r) => r.dataLength), [100, 100, 100, FIRST])
  })

  it("the window counter's wrap mod 16 cannot hide a new event: a later packet closes the old one", () => {
    const h = new LossHistory()
    // One window-counter step per packet: 16 packets wrap it.
    const cc = (o: number) => o
    feed(h, 0, range(0, 10), cc)
    feed(h, 0, range(11, 26), cc) // 10 lost at ccval 9; 26 has ccval 26 ≡ 10 — within 4 of 9 mod 16
    feed(h, 0, range(27, 40), cc) // 26 lost: after 15 (ccval 15 > 9 + 4) closed the event, so a new one
    assert.strictEqual(h.lossEvents, 2)
  })
})

describe("Loss Intervals option (RFC 4342 §8.6)", () => {
  it("round-trips Skip Length and intervals, with the E bit beside the 23-bit Loss Length", () => {
    const intervals = [
      { losslessLength: 0xabcdef, lossLength: 0x7fffff, dataLength: 0x123456, ecnNonceEcho: true },
      { losslessLength: 10, lossLength: 1, dataLength: 11, ecnNonceEcho: false }
    ]
    const bytes = encodeLossIntervals(2, intervals)
    assert.strictEqual(bytes.length, 1 + 18)
    assert.deepStrictEqual(Array.from(bytes.subarray(0, 10)), [2, 0xab, 0xcd, 0xef, 0xff, 0xff, 0xff, 0x12, 0x34, 0x56])
    assert.deepStrictEqual(decodeLossIntervals(bytes), { skipLength: 2, intervals })
  })

  it("clamps lengths to their fields and lists at most 28 intervals", () => {
    const many = Array.from({ length: 40 }, () => ({ losslessLength: 2 ** 30, lossLength: 2 ** 30, dataLength: 2 ** 30, ecnNonceEcho: false }))
    const bytes = encodeLossIntervals(0, many)
    assert.strictEqual(bytes.length, 1 + 9 * 28)
    const decoded = decodeLossIntervals(bytes)!
    assert.strictEqual(decoded.intervals.length, 28)
    assert.deepStrictEqual(decoded.intervals[0], { losslessLength: 0xffffff, lossLength: 0x7fffff, dataLength: 0xffffff, ecnNonceEcho: false })
  })

  it("a value that is not 1 + 9n bytes is malformed", () => {
    assert.isUndefined(decodeLossIntervals(new Uint8Array(0)))
    assert.isUndefined(decodeLossIntervals(new Uint8Array(9)))
    assert.isUndefined(decodeLossIntervals(new Uint8Array(11)))
    assert.deepStrictEqual(decodeLossIntervals(Uint8Array.of(3)), { skipLength: 3, intervals: [] })
  })
})
