/**
 * CCID 2 (RFC 4341): the sender's window arithmetic against scripted
 * acknowledgements, the receiver's acknowledgement policy, and the whole thing
 * over the simulated wire, including throughput under random loss compared
 * with the TCP-friendly AIMD prediction.
 */
import { assert, describe, it } from "@effect/vitest"
import type { CcidContext, Feedback } from "../../../src/dccp/engine/Ccid.ts"
import { Ccid2Receiver, Ccid2Sender, defaultCcid2Config, initialWindow } from "../../../src/dccp/engine/Ccid2.ts"
import { Feature } from "../../../src/dccp/engine/Features.ts"
import { AckState, DropState, encodeAckVectorCells, encodeDataDropped } from "../../../src/dccp/engine/Options.ts"
import { seededRandom } from "../../../src/dccp/engine/Random.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"
import { drainEvents, establish, makePair } from "./harness.ts"
import { duo, open, sent, shuttle } from "./link.ts"

interface FakeContext extends CcidContext {
  ackRatio: number
  window: number
}

const context = (mps = 1416): FakeContext => {
  const c: FakeContext = {
    ackRatio: 1,
    window: 10_000,
    mps: () => mps,
    localAckRatio: () => c.ackRatio,
    remoteAckRatio: () => 2,
    localSequenceWindow: () => c.window,
    remoteSequenceWindow: () => 100,
    gss: () => 0,
    handshakeRtt: () => 100
  }
  return c
}

let peerSeq = 5_000
const feedback = (ack: number, ackVector?: Array<{ state: number; length: number }>, extra: Partial<Feedback> = {}): Feedback => ({
  type: "Ack",
  seq: peerSeq++,
  ack,
  ackVector: ackVector === undefined ? undefined : encodeAckVectorCells(ackVector),
  dataDropped: undefined,
  elapsedMs: undefined,
  slowReceiver: false,
  ndpCount: undefined,
  carriesData: false,
  ...extra
})

/** Sends `n` data packets starting at `seq`, 1 ms apart. */
const sendData = (s: Ccid2Sender, seq: number, n: number, now: number): number => {
  for (let i = 0; i < n; i++) {
    assert.isAtMost(s.sendTime(now + i), now + i, "window open")
    s.onDataSent(now + i, seq + i, 1000)
  }
  return seq + n
}

describe("Ccid2 sender: window (RFC 4341 §5)", () => {
  it("starts with the RFC 3390 initial window", () => {
    assert.strictEqual(initialWindow(536), 4)
    assert.strictEqual(initialWindow(1095), 4)
    assert.strictEqual(initialWindow(1416), 3)
    assert.strictEqual(initialWindow(2190), 3)
    assert.strictEqual(initialWindow(4000), 2)
    const s = new Ccid2Sender(context())
    assert.strictEqual(s.cwnd, 3)
    sendData(s, 1, 3, 0)
    assert.strictEqual(s.pipe, 3)
    assert.strictEqual(s.sendTime(5), Infinity)
  })

  it("slow start: one packet per acknowledged packet with Ack Ratio 1 (the window doubles per RTT)", () => {
    const s = new Ccid2Sender(context())
    let seq = sendData(s, 1, 3, 0)
    for (let k = 1; k <= 3; k++) s.onFeedback(100, feedback(k, [{ state: AckState.Received, length: k }]))
    assert.strictEqual(s.cwnd, 6)
    assert.strictEqual(s.pipe, 0)
    seq = sendData(s, seq, 6, 100)
    s.onFeedback(200, feedback(seq - 1, [{ state: AckState.Received, length: seq - 1 }]))
    assert.strictEqual(s.cwnd, 7, "one acknowledgement of six packets adds at most ⌈R/2⌉ = 1")
  })

  it("slow start adds at most ⌈R/2⌉ per acknowledgement", () => {
    const c = context()
    c.ackRatio = 4
    const s = new Ccid2Sender(c)
    sendData(s, 1, 3, 0)
    s.onFeedback(100, feedback(3, [{ state: AckState.Received, length: 3 }]))
    assert.strictEqual(s.cwnd, 5)
  })

  it("congestion avoidance: one packet per window of acknowledged packets", () => {
    const s = new Ccid2Sender(context())
    s.ssthresh = 3
    let seq = 1
    let acked = 0
    for (let round = 0; round < 4; round++) {
      const n = s.cwnd
      seq = sendData(s, seq, n, round * 100)
      for (let i = 0; i < n; i++) {
        acked++
        s.onFeedback(round * 100 + 50 + i, feedback(acked, [{ state: AckState.Received, length: acked }]))
      }
    }
    assert.strictEqual(s.cwnd, 7)
  })

  it("a packet with three later acknowledged packets is lost: cwnd halves once per window", () => {
    const s = new Ccid2Sender(context())
    s.cwnd = 20
    s.ssthresh = 20
    sendData(s, 1, 10, 0)
    // 1–3 received, 4 missing, 5–10 received.
    s.onFeedback(100, feedback(10, [{ state: AckState.Received, length: 6 }, { state: AckState.NotReceived, length: 1 }, { state: AckState.Received, length: 3 }]))
    assert.strictEqual(s.cwnd, 10)
    assert.strictEqual(s.ssthresh, 10)
    assert.strictEqual(s.pipe, 0)
    assert.strictEqual(s.lostPackets, 1)
    // A second loss from the same window does not halve again.
    const s2 = new Ccid2Sender(context())
    s2.cwnd = 20
    sendData(s2, 1, 10, 0)
    s2.onFeedback(100, feedback(10, [
      { state: AckState.Received, length: 4 },
      { state: AckState.NotReceived, length: 1 },
      { state: AckState.Received, length: 1 },
      { state: AckState.NotReceived, length: 1 },
      { state: AckState.Received, length: 3 }
    ]))
    assert.strictEqual(s2.lostPackets, 2)
    assert.strictEqual(s2.congestionEvents, 1)
    assert.strictEqual(s2.cwnd, 10)
  })

  it("fewer than three later acknowledgements is not yet a loss", () => {
    const s = new Ccid2Sender(context())
    s.cwnd = 10
    sendData(s, 1, 5, 0)
    s.onFeedback(100, feedback(5, [{ state: AckState.Received, length: 2 }, { state: AckState.NotReceived, length: 1 }, { state: AckState.Received, length: 2 }]))
    assert.strictEqual(s.lostPackets, 0)
    assert.strictEqual(s.pipe, 1)
    // The late packet then arrives: no loss at all.
    s.onFeedback(110, feedback(5, [{ state: AckState.Received, length: 5 }]))
    assert.strictEqual(s.lostPackets, 0)
    assert.strictEqual(s.pipe, 0)
  })

  it("an ECN-marked packet is a congestion event", () => {
    const s = new Ccid2Sender(context())
    s.cwnd = 8
    sendData(s, 1, 2, 0)
    s.onFeedback(100, feedback(2, [{ state: AckState.Received, length: 1 }, { state: AckState.ReceivedMarked, length: 1 }]))
    assert.strictEqual(s.cwnd, 4)
    assert.strictEqual(s.pipe, 0)
  })

  it("without Ack Vectors the Acknowledgement Number alone acknowledges one packet", () => {
    const s = new Ccid2Sender(context())
    sendData(s, 1, 3, 0)
    s.onFeedback(100, feedback(2))
    assert.strictEqual(s.pipe, 2)
  })

  it("a receive-buffer drop (Data Dropped state 2) slows the sender; others do not (RFC 4340 §11.7.2)", () => {
    const s = new Ccid2Sender(context())
    s.cwnd = 8
    sendData(s, 1, 2, 0)
    const dropped = (state: number) => encodeDataDropped([{ dropState: state, length: 1 }])
    s.onFeedback(100, feedback(2, [{ state: AckState.Received, length: 2 }], { dataDropped: dropped(DropState.Corrupt) }))
    assert.strictEqual(s.congestionEvents, 0)
    s.onFeedback(101, feedback(2, [{ state: AckState.Received, length: 2 }], { dataDropped: dropped(DropState.ReceiveBuffer) }))
    assert.strictEqual(s.congestionEvents, 1)
  })

  it("Slow Receiver holds the window for one RTT (§11.6)", () => {
    const s = new Ccid2Sender(context())
    sendData(s, 1, 3, 0)
    s.onFeedback(100, feedback(1, [{ state: AckState.Received, length: 1 }], { slowReceiver: true }))
    s.onFeedback(150, feedback(2, [{ state: AckState.Received, length: 2 }]))
    assert.strictEqual(s.cwnd, 3)
    s.onFeedback(260, feedback(3, [{ state: AckState.Received, length: 3 }]))
    assert.strictEqual(s.cwnd, 4)
  })

  it("RTT estimate and RTO (RFC 2988), minus the receiver's Elapsed Time", () => {
    const s = new Ccid2Sender(context())
    // Handshake sample 100 ms: RTO = 100 + 4·50 = 300 ms.
    assert.strictEqual(s.rto, 300)
    s.onDataSent(1_000, 1, 100)
    s.onFeedback(1_130, feedback(1, [{ state: AckState.Received, length: 1 }], { elapsedMs: 30 }))
    assert.strictEqual(s.info()["srttMs"], 100)
    assert.strictEqual(s.rto, 100 + 4 * 37.5)
  })

  it("a retransmission timeout: cwnd 1, ssthresh cwnd/2, backoff, everything outstanding written off", () => {
    const c = context()
    c.ackRatio = 2
    const s = new Ccid2Sender(c)
    s.cwnd = 10
    sendData(s, 1, 10, 0)
    const deadline = s.nextTimeout()!
    assert.strictEqual(deadline, 300)
    s.onTimeout(deadline - 1)
    assert.strictEqual(s.cwnd, 10, "not yet")
    s.onTimeout(deadline)
    assert.strictEqual(s.cwnd, 1)
    assert.strictEqual(s.ssthresh, 5)
    assert.strictEqual(s.pipe, 0)
    assert.strictEqual(s.rto, 600)
    assert.isUndefined(s.nextTimeout())
    assert.deepStrictEqual(s.takeFeatureRequests().filter((r) => r.feature === Feature.AckRatio).at(-1), { feature: Feature.AckRatio, value: 1 })
    // Acknowledgements for written-off packets change nothing.
    s.onFeedback(700, feedback(10, [{ state: AckState.Received, length: 10 }]))
    assert.strictEqual(s.cwnd, 1)
    assert.strictEqual(s.pipe, 0)
  })
})

describe("Ccid2 sender: Ack Ratio (RFC 4341 §6.1)", () => {
  it("lost acknowledgements double R at most once per RTT, within ⌈cwnd/2⌉", () => {
    const c = context()
    c.ackRatio = 2
    const s = new Ccid2Sender(c)
    s.cwnd = 20
    s.takeFeatureRequests()
    // The receiver's packets 5000.. arrive with a hole at 5001 (an Ack: the next packet carries no data).
    peerSeq = 5_000
    s.onFeedback(0, feedback(0))
    peerSeq++ // 5001 lost
    for (let i = 0; i < 3; i++) s.onFeedback(10 + i, feedback(0))
    assert.strictEqual(s.lostAcks, 1)
    assert.strictEqual(s.ackRatio, 4)
    assert.deepStrictEqual(s.takeFeatureRequests(), [{ feature: Feature.AckRatio, value: 4 }])
    // Another lost Ack within the same RTT: no second doubling.
    peerSeq++
    for (let i = 0; i < 3; i++) s.onFeedback(20 + i, feedback(0))
    assert.strictEqual(s.lostAcks, 2)
    assert.strictEqual(s.ackRatio, 4)
  })

  it("a hole before a data packet is not an acknowledgement loss; NDP Count settles it", () => {
    const s = new Ccid2Sender(context())
    peerSeq = 9_000
    s.onFeedback(0, feedback(0))
    peerSeq++
    s.onFeedback(1, feedback(0, undefined, { carriesData: true, type: "DataAck" }))
    s.onFeedback(2, feedback(0))
    s.onFeedback(3, feedback(0))
    assert.strictEqual(s.lostAcks, 0)
    // With NDP Count = 1 the packet before was a non-data packet.
    peerSeq++
    s.onFeedback(4, feedback(0, undefined, { carriesData: true, type: "DataAck", ndpCount: 1 }))
    s.onFeedback(5, feedback(0))
    s.onFeedback(6, feedback(0))
    assert.strictEqual(s.lostAcks, 1)
  })

  it("R falls by one after cwnd/(R²−R) windows of data without lost acknowledgements", () => {
    const c = context(536)
    c.ackRatio = 2
    const s = new Ccid2Sender(c)
    s.ssthresh = 4
    assert.strictEqual(s.cwnd, 4)
    assert.strictEqual(s.ackRatio, 2)
    // One packet per acknowledgement in congestion avoidance:
    //  4 acks complete a window of 4 (1 window; 1 < 4/2), cwnd becomes 5;
    //  5 more complete a window of 5 (2 windows; 2 < 5/2), cwnd becomes 6;
    //  6 more complete a window of 6 (3 windows; 3 ≥ 6/2): R becomes 1 at the 15th.
    let seq = 1
    const ratios: Array<number> = []
    for (let k = 0; k < 15; k++) {
      seq = sendData(s, seq, 1, k * 10)
      s.onFeedback(k * 10 + 5, feedback(seq - 1, [{ state: AckState.Received, length: seq - 1 }]))
      ratios.push(s.ackRatio)
    }
    assert.deepStrictEqual(ratios, [...new Array(14).fill(2), 1])
    assert.deepStrictEqual(s.takeFeatureRequests().filter((r) => r.feature === Feature.AckRatio), [{ feature: Feature.AckRatio, value: 1 }])
  })

  it("R is cut to ⌈cwnd/2⌉ when the window shrinks", () => {
    const c = context()
    c.ackRatio = 4
    const s = new Ccid2Sender(c)
    s.cwnd = 8
    s.ackRatio = 4
    sendData(s, 1, 5, 0)
    // Packets 2–5 acknowledged: slow start adds ⌈4/2⌉ = 2 (cwnd 10); packet 1
    // then has four later acknowledgements, is lost, and cwnd halves to 5.
    s.onFeedback(100, feedback(5, [{ state: AckState.Received, length: 4 }, { state: AckState.NotReceived, length: 1 }]))
    assert.strictEqual(s.cwnd, 5)
    assert.strictEqual(s.ackRatio, 3)
  })

  it("asks for a larger Sequence Window once 5 × cwnd reaches it (RFC 4340 §7.5.2)", () => {
    const c = context()
    c.window = 100
    const s = new Ccid2Sender(c)
    s.cwnd = 19
    sendData(s, 1, 1, 0)
    s.onFeedback(100, feedback(1, [{ state: AckState.Received, length: 1 }]))
    assert.strictEqual(s.cwnd, 20)
    assert.deepStrictEqual(s.takeFeatureRequests().filter((r) => r.feature === Feature.SequenceWindow), [{ feature: Feature.SequenceWindow, value: 200 }])
  })
})

describe("Ccid2 receiver (RFC 4341 §6)", () => {
  it("acknowledges every Ack Ratio data packets, at once on reordering, else within the delayed-ack time", () => {
    const r = new Ccid2Receiver(context())
    const packet = (seq: number, carriesData = true, outOfOrder = false) => ({
      type: carriesData ? ("Data" as const) : ("Ack" as const),
      seq,
      carriesData,
      payloadBytes: 10,
      ccval: 0,
      outOfOrder,
      ndpCount: undefined
    })
    // Ack Ratio/peer is 2 in this context.
    assert.deepStrictEqual(r.onPacketReceived(0, packet(1)), { kind: "by", at: defaultCcid2Config.delayedAckMs })
    assert.deepStrictEqual(r.onPacketReceived(1, packet(2)), { kind: "now" })
    r.onAckSent()
    assert.deepStrictEqual(r.onPacketReceived(2, packet(3, false)), { kind: "none" })
    assert.deepStrictEqual(r.onPacketReceived(3, packet(5, true, true)), { kind: "now" })
  })
})

describe("Ccid2 over the wire", () => {
  it("the window halves on a loss and grows back", () => {
    const pair = makePair({ delayMs: 25 })
    const server = establish(pair)
    const cwnds: Array<number> = []
    let dataSeen = 0
    pair.wire.loss = (dir, type) => dir === "c2s" && (type === "Data" || type === "DataAck") && ++dataSeen === 120
    for (let t = 0; t < 400; t++) {
      while (pair.client.send(pair.wire.now, new Uint8Array(500)) === "queued") {
        // keep the sender busy
      }
      pair.wire.runFor(10)
      cwnds.push(pair.client.info().sender!["cwnd"]!)
      drainEvents(server)
    }
    const peak = Math.max(...cwnds.slice(0, cwnds.findIndex((c, i) => i > 0 && c < cwnds[i - 1]!)))
    const drop = cwnds.findIndex((c, i) => i > 0 && c < cwnds[i - 1]!)
    assert.isAbove(drop, 0, "the window shrank")
    // Halved (the unit tests above check the exact arithmetic; here acknowledgements
    // arriving in the same sampling interval may already have added a packet).
    assert.isAtLeast(cwnds[drop]!, Math.floor(peak / 2))
    assert.isAtMost(cwnds[drop]!, Math.floor(peak / 2) + 2)
    assert.isAbove(cwnds[cwnds.length - 1]!, cwnds[drop]!, "and grew back")
    assert.strictEqual(pair.client.info().sender!["congestionEvents"], 1)
    assert.strictEqual(pair.client.info().sender!["timeouts"], 0)
  })

  it("the Sequence Window grows with a full window in flight, so cwnd can pass 100 (regression)", () => {
    // The Change for a larger Sequence Window rides on every DataAck of a full
    // window: counted per packet it was given up (16 "transmissions") before
    // its Confirm could come back, and cwnd stayed below the initial window, 100.
    const pair = makePair({ delayMs: 5, client: { txQueueLength: 100_000 } })
    const server = establish(pair)
    for (let t = 0; t < 100; t++) {
      while (pair.client.send(pair.wire.now, new Uint8Array(100)) === "queued" && pair.client.info().sendQueueLength < 1000) {
        // saturate
      }
      pair.wire.runFor(10)
      drainEvents(server)
    }
    assert.isAbove(pair.client.info().features["SequenceWindow"]!.local, 100)
    assert.strictEqual(server.info().features["SequenceWindow"]!.remote, pair.client.info().features["SequenceWindow"]!.local)
    assert.isAbove(pair.client.info().sender!["cwnd"]!, 100)
  })

  it("Ack Ratio changes are negotiated with the receiver, which then acknowledges less often", () => {
    const pair = makePair({ delayMs: 25 })
    const server = establish(pair)
    // A large window allows R > 2.
    const values: Array<number> = []
    for (let t = 0; t < 300; t++) {
      while (pair.client.send(pair.wire.now, new Uint8Array(200)) === "queued") {
        // saturate
      }
      pair.wire.runFor(10)
      drainEvents(server)
      values.push(server.info().features["AckRatio"]!.remote)
    }
    // The server (HC-receiver) follows whatever the client (HC-sender) settled on.
    assert.strictEqual(server.info().features["AckRatio"]!.remote, pair.client.info().features["AckRatio"]!.local)
    // Lose acknowledgements: R doubles.
    const before = pair.client.info().features["AckRatio"]!.local
    let acks = 0
    pair.wire.loss = (dir, type) => dir === "s2c" && type === "Ack" && ++acks % 3 === 0
    for (let t = 0; t < 300; t++) {
      while (pair.client.send(pair.wire.now, new Uint8Array(200)) === "queued") {
        // saturate
      }
      pair.wire.runFor(10)
      drainEvents(server)
    }
    assert.isAbove(pair.client.info().sender!["lostAcks"]!, 0)
    assert.isAbove(server.info().features["AckRatio"]!.remote, before)
    assert.include(values, 2)
  })

  it("throughput under random loss matches TCP-like AIMD: about 1.22/√p packets per RTT", () => {
    const rttMs = 100
    for (const p of [0.005, 0.01, 0.02, 0.05]) {
      const random = seededRandom(Math.round(p * 1e6))
      const pair = makePair({ delayMs: rttMs / 2, seed: 5 })
      const server = establish(pair)
      pair.wire.loss = (dir, type) => dir === "c2s" && (type === "Data" || type === "DataAck") && random() / 2 ** 32 < p
      const warmup = 20_000
      const duration = 400_000
      let delivered = 0
      let counting = false
      const start = pair.wire.now
      while (pair.wire.now < start + warmup + duration) {
        while (pair.client.send(pair.wire.now, new Uint8Array(100)) === "queued") {
          // saturate
        }
        pair.wire.runFor(5)
        if (!counting && pair.wire.now >= start + warmup) {
          counting = true
          drainEvents(server)
        }
        for (let e = server.pollEvent(); e !== undefined; e = server.pollEvent()) if (counting && e.type === "data") delivered++
      }
      const perRtt = delivered / (duration / rttMs)
      const model = 1.22 / Math.sqrt(p)
      const ratio = perRtt / model
      assert.isAbove(ratio, 0.7, `p=${p}: ${perRtt.toFixed(2)} packets/RTT vs model ${model.toFixed(2)}`)
      assert.isBelow(ratio, 1.3, `p=${p}: ${perRtt.toFixed(2)} packets/RTT vs model ${model.toFixed(2)}`)
      assert.strictEqual(pair.client.state, "OPEN")
    }
  })
})

describe("Ccid2: sequence numbers used by the sender wrap too", () => {
  it("losses are detected across the 48-bit wrap", () => {
    const s = new Ccid2Sender(context())
    s.cwnd = 10
    const first = 2 ** 48 - 4
    for (let i = 0; i < 8; i++) s.onDataSent(i, Seq.add(first, i), 100)
    // The fourth packet (2^48 − 1) is missing.
    s.onFeedback(50, feedback(Seq.add(first, 7), [{ state: AckState.Received, length: 4 }, { state: AckState.NotReceived, length: 1 }, { state: AckState.Received, length: 3 }]))
    assert.strictEqual(s.lostPackets, 1)
    assert.strictEqual(s.pipe, 0)
  })
})

describe("CCID 2: acknowledgements of acknowledgements stay short (RFC 4341 §6.2, RFC 4340 §11.4.2)", () => {
  it("a sender sending in bursts keeps its Ack Vector of the receiver's Acks to a few bytes", () => {
    // The sender acknowledges the receiver's Acks on the first packet of each
    // burst only; the receiver's Acks then name a later Data packet, so the
    // sender learns from the receiver's Ack Vector that its DataAck arrived.
    const d = open(duo({ seed: 3 }))
    const payload = new Uint8Array(64)
    let longest = 0
    for (let round = 0; round < 3000; round++) {
      d.now += 0.05
      for (let i = 0; i < 5; i++) d.client.send(d.now, payload)
      for (const p of sent(d.client, d.now)) {
        if (round >= 2000) longest = Math.max(longest, p.options.length)
        d.server.handleDatagram(d.now, p.bytes)
      }
      drainEvents(d.server)
      shuttle(d.server, d.client, d.now)
      drainEvents(d.client)
    }
    assert.isAbove(d.server.stats.dataPacketsDelivered, 14_000)
    assert.isAtMost(longest, 16, `option bytes on the sender's packets: ${longest}`)
  })
})
