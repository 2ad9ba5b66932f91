import { assert, describe, it } from "@effect/vitest"
import { AckState, decodeAckVector, decodeDataDropped, DropState } from "../../../src/dccp/engine/Options.ts"
import { ReceiveHistory } from "../../../src/dccp/engine/ReceiveHistory.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"

/** The (state, length) runs an Ack Vector describes, merged across cells. */
const runs = (anchor: number, cells: Uint8Array): Array<[number, number]> => {
  const out: Array<[number, number]> = []
  for (const r of decodeAckVector(anchor, cells)) {
    const last = out[out.length - 1]
    if (last !== undefined && last[0] === r.state) last[1] += r.length
    else out.push([r.state, r.length])
  }
  return out
}

const R = AckState.Received
const N = AckState.NotReceived

describe("ReceiveHistory: Ack Vector contents (RFC 4340 §11.4)", () => {
  it("in-order packets form one Received run", () => {
    const h = new ReceiveHistory()
    for (let s = 100; s < 200; s++) assert.strictEqual(h.record(s), "new")
    assert.deepStrictEqual(runs(199, h.ackVectorCells(199, 100)), [[R, 100]])
    // 100 packets need two cells (64 + 36).
    assert.strictEqual(h.ackVectorCells(199, 100).length, 2)
  })

  it("gaps are Not Received until the packet arrives; Received never goes back", () => {
    const h = new ReceiveHistory()
    h.record(10)
    h.record(11)
    assert.strictEqual(h.record(15), "new")
    assert.deepStrictEqual(runs(15, h.ackVectorCells(15, 10)), [[R, 1], [N, 3], [R, 2]])
    assert.strictEqual(h.record(13), "filled-hole")
    assert.deepStrictEqual(runs(15, h.ackVectorCells(15, 10)), [[R, 1], [N, 1], [R, 1], [N, 1], [R, 2]])
    assert.strictEqual(h.record(13), "duplicate")
    assert.strictEqual(h.record(15), "duplicate")
    assert.isTrue(h.isReceived(13))
    assert.isFalse(h.isReceived(12))
    assert.strictEqual(h.record(3), "too-old")
  })

  it("ECN-marked packets have their own state", () => {
    const h = new ReceiveHistory()
    h.record(1)
    h.record(2, true)
    h.record(3)
    assert.deepStrictEqual(runs(3, h.ackVectorCells(3, 10)), [[R, 1], [AckState.ReceivedMarked, 1], [R, 1]])
  })

  it("an anchor above the head reports the difference as Not Received", () => {
    const h = new ReceiveHistory()
    h.record(50)
    h.record(51)
    assert.deepStrictEqual(runs(54, h.ackVectorCells(54, 10)), [[N, 3], [R, 2]])
    assert.strictEqual(h.ackVectorCells(49, 10).length, 0)
  })

  it("is cut to the byte budget, keeping the newest packets", () => {
    const h = new ReceiveHistory()
    for (let s = 0; s < 400; s += 2) h.record(s)
    const cells = h.ackVectorCells(398, 5)
    assert.strictEqual(cells.length, 5)
    assert.deepStrictEqual(runs(398, cells), [[R, 1], [N, 1], [R, 1], [N, 1], [R, 1]])
  })

  it("works across the 48-bit wrap", () => {
    const h = new ReceiveHistory()
    const start = 2 ** 48 - 3
    for (let i = 0; i < 6; i++) if (i !== 4) h.record(Seq.add(start, i))
    assert.strictEqual(h.head, 2)
    assert.deepStrictEqual(runs(2, h.ackVectorCells(2, 10)), [[R, 1], [N, 1], [R, 4]])
  })

  it("a jump larger than the tracked history starts over", () => {
    const h = new ReceiveHistory(100)
    h.record(0)
    h.record(1000)
    assert.strictEqual(h.size, 1)
    assert.deepStrictEqual(runs(1000, h.ackVectorCells(1000, 10)), [[R, 1]])
    // Smaller jumps drop the oldest entries to stay within the bound.
    h.record(1090)
    h.record(1150)
    assert.isAtMost(h.size, 100)
    assert.isTrue(h.isReceived(1150))
  })
})

describe("ReceiveHistory: acknowledgements of acknowledgements (§11.4.2, Appendix A)", () => {
  it("an ack of our Ack-Vector-carrying packet forgets everything at or below its anchor", () => {
    const h = new ReceiveHistory()
    for (let s = 1; s <= 10; s++) h.record(s)
    h.onAckVectorSent(500, 6) // our packet 500 carried a vector anchored at 6
    h.onAckVectorSent(501, 10)
    assert.isFalse(h.onAckReceived(499)) // no record for 499
    assert.strictEqual(h.size, 10)
    assert.isTrue(h.onAckReceived(500))
    assert.strictEqual(h.size, 4)
    assert.deepStrictEqual(runs(10, h.ackVectorCells(10, 10)), [[R, 4]])
    assert.strictEqual(h.pendingRecords, 1)
    assert.isTrue(h.onAckReceived(501))
    assert.strictEqual(h.size, 0)
    assert.strictEqual(h.ackVectorCells(10, 10).length, 0)
    // New packets after a full trim start right after the old head.
    h.record(12)
    assert.deepStrictEqual(runs(12, h.ackVectorCells(12, 10)), [[R, 1], [N, 1]])
  })

  it("acknowledging a newer record also retires the older ones", () => {
    const h = new ReceiveHistory()
    for (let s = 1; s <= 5; s++) h.record(s)
    h.onAckVectorSent(100, 2)
    h.onAckVectorSent(101, 4)
    assert.isTrue(h.onAckReceived(101))
    assert.strictEqual(h.pendingRecords, 0)
    assert.isFalse(h.onAckReceived(100))
    assert.deepStrictEqual(runs(5, h.ackVectorCells(5, 10)), [[R, 1]])
  })

  it("the peer's Ack Vector reporting our packet as received forgets as an exact ack would", () => {
    const cell = (state: number, length: number) => (state << 6) | (length - 1)
    const h = new ReceiveHistory()
    for (let s = 1; s <= 10; s++) h.record(s)
    h.onAckVectorSent(500, 6)
    h.onAckVectorSent(503, 9)
    // Ack 506: 506-505 received, 504-503 lost, 502-500 received. 503 is lost, 500 is the newest received record.
    const lost503 = Uint8Array.of(cell(R, 2), cell(N, 2), cell(R, 3))
    assert.isTrue(h.onAckVectorReceived(506, lost503))
    assert.strictEqual(h.size, 4) // 7..10
    assert.strictEqual(h.pendingRecords, 1)
    // A vector that stops above 503, or reports it lost, trims nothing.
    assert.isFalse(h.onAckVectorReceived(506, Uint8Array.of(cell(R, 3))))
    assert.isFalse(h.onAckVectorReceived(503, Uint8Array.of(cell(N, 1), cell(R, 5))))
    // Received in a run: 503 is inside 507..501.
    assert.isTrue(h.onAckVectorReceived(507, Uint8Array.of(cell(R, 7))))
    assert.strictEqual(h.size, 1) // 10
    assert.strictEqual(h.pendingRecords, 0)
    assert.isFalse(h.onAckVectorReceived(600, Uint8Array.of(cell(R, 64))))
  })

  it("runs across the 48-bit wrap", () => {
    const cell = (state: number, length: number) => (state << 6) | (length - 1)
    const h = new ReceiveHistory()
    for (let s = 1; s <= 4; s++) h.record(s)
    const M = 2 ** 48
    h.onAckVectorSent(M - 2, 3)
    assert.isTrue(h.onAckVectorReceived(1, Uint8Array.of(cell(R, 5)))) // 1, 0, M-1, M-2, M-3
    assert.strictEqual(h.size, 1)
  })
})

describe("ReceiveHistory: Data Dropped (§11.7)", () => {
  it("describes dropped packets from the anchor down to the oldest drop", () => {
    const h = new ReceiveHistory()
    for (let s = 1; s <= 10; s++) h.record(s)
    assert.isUndefined(h.dataDroppedBlocks(10, 50))
    h.markDropped(4, DropState.ReceiveBuffer)
    h.markDropped(5, DropState.ReceiveBuffer)
    h.markDropped(8, DropState.Corrupt)
    assert.isTrue(h.hasDrops)
    const blocks = h.dataDroppedBlocks(10, 50)!
    assert.deepStrictEqual(
      decodeDataDropped(10, blocks).map((r) => [r.dropState, r.length, r.high]),
      [[undefined, 2, 10], [DropState.Corrupt, 1, 8], [undefined, 2, 7], [DropState.ReceiveBuffer, 2, 5]]
    )
    // Trimming by an ack of ack forgets the drops too.
    h.onAckVectorSent(900, 9)
    h.onAckReceived(900)
    assert.isFalse(h.hasDrops)
    assert.isUndefined(h.dataDroppedBlocks(10, 50))
  })
})
