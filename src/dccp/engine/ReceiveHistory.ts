/**
 * What this endpoint has received, for the Ack Vector (RFC 4340 §11.4) and
 * Data Dropped (§11.7) options, and the acknowledgements of acknowledgements
 * that let it forget (§11.4.2, Appendix A).
 *
 * One byte per sequence number, in a ring that covers the packets from the
 * oldest one the peer may still need to hear about (the tail) to the greatest
 * one received (the head). A packet's state only moves from Not Received to
 * Received (§11.4.1). Every time an Ack Vector is sent, the engine records the
 * sequence number of the packet that carried it and the Acknowledgement
 * Number it was anchored at; when the peer acknowledges that packet, every
 * state at or below the anchor is known to the peer and is dropped, exactly
 * like Linux's `dccp_ackvec_clear_state` (which also matches acks exactly).
 *
 * @since 0.1.0
 */
import { AckState, encodeDataDropped } from "./Options.ts"
import { PrefixViews } from "./PrefixViews.ts"
import * as Seq from "./Seq.ts"

const STATE_MASK = 0x03
const DROPPED = 0x80
const EMPTY_CELLS = new Uint8Array(0)

/**
 * What recording a sequence number did.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordOutcome = "new" | "filled-hole" | "duplicate" | "too-old"

/**
 * The receive history of one connection.
 *
 * @since 0.1.0
 * @category models
 */
export class ReceiveHistory {
  private ring: Uint8Array
  /** Sequence number of ring index `start`. */
  private tail = 0
  private start = 0
  private count = 0
  private headSeq: number | undefined = undefined
  private readonly maxTracked: number
  /** (our packet's sequence number, the ack number its Ack Vector was anchored at), oldest first. */
  private readonly records: Array<{ readonly seq: number; readonly anchor: number }> = []
  private readonly maxRecords: number
  /** Packets whose data was dropped and are still inside the ring. */
  private drops = 0
  /** Where `ackVectorCells` writes (an Ack Vector option area holds at most 1020 bytes). */
  private readonly cells = new Uint8Array(1020)
  /** `ackVectorCells`' views of `cells`: an acknowledgement allocates none. */
  private readonly cellViews = new PrefixViews(this.cells)

  constructor(maxTracked = 16384, maxRecords = 1024) {
    this.maxTracked = maxTracked
    this.maxRecords = maxRecords
    this.ring = new Uint8Array(64)
  }

  /** Greatest sequence number recorded, if any. */
  get head(): number | undefined {
    return this.headSeq
  }

  /** Number of sequence numbers currently described. */
  get size(): number {
    return this.count
  }

  /** Outstanding (seq, anchor) records of sent Ack Vectors. */
  get pendingRecords(): number {
    return this.records.length
  }

  private at(offset: number): number {
    return this.ring[(this.start + offset) & (this.ring.length - 1)]!
  }

  private setAt(offset: number, v: number): void {
    this.ring[(this.start + offset) & (this.ring.length - 1)] = v
  }

  private grow(needed: number): void {
    if (needed <= this.ring.length) return
    let capacity = this.ring.length
    while (capacity < needed) capacity *= 2
    const next = new Uint8Array(capacity)
    for (let i = 0; i < this.count; i++) next[i] = this.at(i)
    this.ring = next
    this.start = 0
  }

  private dropOldest(n: number): void {
    for (let i = 0; i < n && this.count > 0; i++) {
      if ((this.at(0) & DROPPED) !== 0) this.drops--
      this.start = (this.start + 1) & (this.ring.length - 1)
      this.tail = Seq.add(this.tail, 1)
      this.count--
    }
  }

  /**
   * Marks `seq` acknowledgeable (§7.4, step 8 of §8.5). Packets between the
   * previous head and `seq` become Not Received.
   */
  record(seq: number, marked = false): RecordOutcome {
    const state = marked ? AckState.ReceivedMarked : AckState.Received
    if (this.headSeq === undefined) {
      this.headSeq = seq
      this.tail = seq
      this.start = 0
      this.count = 1
      this.ring[0] = state
      return "new"
    }
    const ahead = Seq.delta(this.headSeq, seq)
    if (ahead > 0) {
      if (ahead >= this.maxTracked) {
        // A jump larger than everything we track: start over from this packet.
        this.drops = 0
        this.tail = seq
        this.start = 0
        this.count = 1
        this.ring[0] = state
        this.headSeq = seq
        return "new"
      }
      const overflow = this.count + ahead - this.maxTracked
      if (overflow > 0) this.dropOldest(overflow)
      // With an empty ring the tail already sits at head + 1 (see dropOldest).
      this.grow(this.count + ahead)
      for (let i = 1; i < ahead; i++) this.setAt(this.count + i - 1, AckState.NotReceived)
      this.setAt(this.count + ahead - 1, state)
      this.count += ahead
      this.headSeq = seq
      return "new"
    }
    if (ahead === 0) return "duplicate"
    const offset = Seq.delta(this.tail, seq)
    if (offset < 0 || offset >= this.count) return "too-old"
    const current = this.at(offset)
    if ((current & STATE_MASK) !== AckState.NotReceived) return "duplicate"
    this.setAt(offset, (current & ~STATE_MASK) | state)
    return "filled-hole"
  }

  /** Whether `seq` is recorded as received. */
  isReceived(seq: number): boolean {
    if (this.count === 0) return false
    const offset = Seq.delta(this.tail, seq)
    if (offset < 0 || offset >= this.count) return false
    return (this.at(offset) & STATE_MASK) !== AckState.NotReceived
  }

  /** Records that the data of received packet `seq` was dropped with `dropState` (§11.7). */
  markDropped(seq: number, dropState: number): void {
    if (this.count === 0) return
    const offset = Seq.delta(this.tail, seq)
    if (offset < 0 || offset >= this.count) return
    const current = this.at(offset)
    if ((current & DROPPED) === 0) this.drops++
    this.setAt(offset, (current & STATE_MASK) | DROPPED | ((dropState & 7) << 4))
  }

  /** Whether any dropped packet is still described. */
  get hasDrops(): boolean {
    return this.drops > 0
  }

  /**
   * Ack Vector cells anchored at `anchor` (the Acknowledgement Number about to
   * be sent), newest first, at most `maxBytes` cells. Sequence numbers between
   * the history's head and `anchor` are reported Not Received. Returns an
   * empty array when there is nothing the peer does not know yet. The cells
   * are a view of a buffer the history reuses: valid until the next call.
   */
  ackVectorCells(anchor: number, maxBytes: number): Uint8Array {
    if (this.headSeq === undefined || this.count === 0 || maxBytes <= 0) return EMPTY_CELLS
    const above = Seq.delta(this.headSeq, anchor)
    if (above < 0) return EMPTY_CELLS
    const limit = Math.min(maxBytes, this.cells.length)
    let n = 0
    let runState = AckState.NotReceived as number
    let runLength = above
    for (let i = this.count - 1; i >= -1; i--) {
      // i = -1 flushes the last run.
      const state = i >= 0 ? this.at(i) & STATE_MASK : -1
      if (state === runState && runLength < 64) {
        runLength++
        continue
      }
      // Emit the pending run as cells of at most 64 packets.
      while (runLength > 0) {
        if (n >= limit) return this.cellViews.of(n)
        const k = Math.min(runLength, 64)
        this.cells[n++] = (runState << 6) | (k - 1)
        runLength -= k
      }
      runState = state
      runLength = 1
    }
    return this.cellViews.of(n)
  }


  /**
   * Data Dropped blocks anchored at `anchor`, newest first, ending with the
   * oldest dropped packet still described; `undefined` when nothing was dropped.
   */
  dataDroppedBlocks(anchor: number, maxBytes: number): Uint8Array | undefined {
    if (this.drops === 0 || this.headSeq === undefined || maxBytes <= 0) return undefined
    const above = Seq.delta(this.headSeq, anchor)
    if (above < 0) return undefined
    let oldestDrop = -1
    for (let i = 0; i < this.count; i++) {
      if ((this.at(i) & DROPPED) !== 0) {
        oldestDrop = i
        break
      }
    }
    if (oldestDrop < 0) return undefined
    // Normal blocks cover at most 128 packets each: if the packets above the
    // head alone fill the budget, no drop can be described.
    if (Math.ceil(above / 128) >= maxBytes) return undefined
    const runs: Array<{ dropState: number | undefined; length: number }> = []
    const push = (dropState: number | undefined, length: number): void => {
      const last = runs[runs.length - 1]
      if (last !== undefined && last.dropState === dropState) last.length += length
      else runs.push({ dropState, length })
    }
    if (above > 0) push(undefined, above)
    for (let i = this.count - 1; i >= oldestDrop; i--) {
      const v = this.at(i)
      push((v & DROPPED) !== 0 ? (v >>> 4) & 7 : undefined, 1)
    }
    const blocks = encodeDataDropped(runs)
    return blocks.length <= maxBytes ? blocks : blocks.subarray(0, maxBytes)
  }

  /** Remembers that our packet `seq` carried an Ack Vector anchored at `anchor` (§11.4.2). */
  onAckVectorSent(seq: number, anchor: number): void {
    this.records.push({ seq, anchor })
    if (this.records.length > this.maxRecords) this.records.shift()
  }

  /**
   * The peer's Ack Vector (`cells`, anchored at `ackno`) reports which of our
   * packets it received. A received packet that carried an Ack Vector was
   * processed with its options (§11.4), so the peer has seen every state at or
   * below that vector's anchor: forget them, as `onAckReceived` does for an
   * exact acknowledgement. Without this, a sender whose acknowledgements ride
   * only on some of its packets (the first after new Acks arrive) would rarely
   * be acknowledged exactly and its Ack Vectors would grow to the history's
   * size. Returns whether state was trimmed.
   */
  onAckVectorReceived(ackno: number, cells: Uint8Array): boolean {
    const records = this.records
    let r = records.length - 1
    if (r < 0) return false
    let high = ackno
    for (let i = 0; i < cells.length && r >= 0; i++) {
      const cell = cells[i]!
      const length = (cell & 0x3f) + 1
      const low = Seq.add(high, -(length - 1))
      // Skip the records newer than this run.
      while (r >= 0 && Seq.isAfter(records[r]!.seq, high)) r--
      if (r < 0) return false
      if ((cell >>> 6) !== AckState.NotReceived && !Seq.isBefore(records[r]!.seq, low)) return this.trimThrough(r)
      high = Seq.add(low, -1)
    }
    return false
  }

  /**
   * The peer acknowledged our packet `ackno`. If that packet carried an Ack
   * Vector, the peer has seen every state at or below its anchor: forget them
   * and every older record (Appendix A; Linux matches the ack exactly too).
   * Returns whether state was trimmed.
   */
  onAckReceived(ackno: number): boolean {
    let index = -1
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i]!
      if (r.seq === ackno) {
        index = i
        break
      }
      if (Seq.isBefore(r.seq, ackno)) break
    }
    if (index < 0) return false
    return this.trimThrough(index)
  }

  /** Forgets record `index`, every older one, and the states at or below its anchor. */
  private trimThrough(index: number): boolean {
    const anchor = this.records[index]!.anchor
    this.records.splice(0, index + 1)
    if (this.count === 0) return false
    const covered = Seq.delta(this.tail, anchor) + 1
    if (covered <= 0) return false
    this.dropOldest(Math.min(covered, this.count))
    if (this.count === 0 && this.headSeq !== undefined) this.tail = Seq.add(this.headSeq, 1)
    return true
  }
}
