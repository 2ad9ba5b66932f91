/**
 * CCID 3 (RFC 4342 on RFC 5348): the sender against scripted feedback (initial
 * rate, slow start and its end at the first loss, the equation, the
 * nofeedback timer's halving, pacing, the window counter, options), the
 * receiver's feedback policy and options, and two engines negotiating CCID 3
 * (and CCID 3 one way, CCID 2 the other) the way Linux does.
 */
import { assert, describe, it } from "@effect/vitest"
import type { CcidContext, Feedback } from "../../../src/dccp/engine/Ccid.ts"
import {
  Ccid3Receiver,
  Ccid3Sender,
  defaultCcid3Config,
  lossEventRateOf,
  lossEventRateValue,
  NO_LOSS
} from "../../../src/dccp/engine/Ccid3.ts"
import { encodeLossIntervals } from "../../../src/dccp/engine/LossIntervals.ts"
import { DropState, encodeDataDropped, OptionWriter, parseOptions } from "../../../src/dccp/engine/Options.ts"
import { decodePacket } from "../../../src/dccp/engine/Packet.ts"
import { initialWindow, lossRateFor, throughput } from "../../../src/dccp/engine/Tfrc.ts"
import { drainEvents, establish, makePair } from "./harness.ts"
import { craft, open, sent, duo } from "./link.ts"

/** The option types of an encoded packet. */
const optionTypes = (bytes: Uint8Array): Array<number> => {
  const d = decodePacket(bytes)
  if (!d.ok) throw new Error("undecodable")
  return parseOptions(d.packet.options, d.packet.type).options.map((o) => o.type)
}

const context = (rtt: number | undefined): CcidContext => ({
  mps: () => 1416,
  localAckRatio: () => 0,
  remoteAckRatio: () => 0,
  localSequenceWindow: () => 100,
  remoteSequenceWindow: () => 100,
  gss: () => 0,
  handshakeRtt: () => rtt
})

const u32 = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff)

let peerSeq = 9_000
const ack = (ackno: number, extra: Partial<Feedback> = {}): Feedback => ({
  type: "Ack",
  seq: peerSeq++,
  ack: ackno,
  ackVector: undefined,
  dataDropped: undefined,
  elapsedMs: undefined,
  slowReceiver: false,
  ndpCount: undefined,
  carriesData: false,
  ...extra
})

/** Feedback from the receiver: Loss Event Rate and Receive Rate options, then the packet. */
const feedback = (s: Ccid3Sender, now: number, ackno: number, p: number, xRecv: number, extra: Partial<Feedback> = {}) => {
  assert.strictEqual(s.handleOption(192, u32(lossEventRateValue(p)), "Ack"), "ok")
  assert.strictEqual(s.handleOption(194, u32(xRecv), "Ack"), "ok")
  s.onFeedback(now, ack(ackno, extra))
}

/** Sends a packet of `size` bytes with sequence number `seq` when the sender allows, from `now` on; returns the send time. */
const sendWhenAllowed = (s: Ccid3Sender, now: number, seq: number, size = 1000): number => {
  const at = Math.max(now, s.sendTime(now))
  s.ccval(at)
  s.onDataSent(at, seq, size)
  return at
}

describe("Ccid3 sender: start (RFC 5348 §4.2)", () => {
  it("with the handshake RTT the first rate is W_init/R; without one, one packet per second", () => {
    const s = new Ccid3Sender(context(100))
    assert.strictEqual(s.sendTime(0), 0, "nothing sent yet: send at once")
    s.onDataSent(0, 1, 1000)
    assert.strictEqual(s.x, initialWindow(1000) / 0.1) // 4000 B per 100 ms
    assert.strictEqual(s.ipi, 25)
    const blind = new Ccid3Sender(context(undefined))
    blind.onDataSent(0, 1, 1000)
    assert.strictEqual(blind.x, 1000)
    assert.strictEqual(blind.ipi, 1000)
  })

  it("paces packets t_ipi apart, releasing each up to min(t_ipi, t_gran)/2 early (§4.6)", () => {
    const s = new Ccid3Sender(context(100))
    s.onDataSent(0, 1, 1000)
    assert.strictEqual(s.sendTime(0), 24.5)
    assert.strictEqual(s.sendTime(24.4), 24.5)
    assert.strictEqual(s.sendTime(24.5), 24.5)
    s.onDataSent(24.5, 2, 1000)
    assert.strictEqual(s.sendTime(25), 49.5)
    // A sender that fell far behind catches up by at most t_gran, not its whole idle time.
    s.onDataSent(500, 3, 1000)
    assert.strictEqual(s.sendTime(500), 500 - 1 + 25 - 0.5)
  })

  it("the first feedback measures R (less the receiver's Elapsed Time) and sets X = W_init/R", () => {
    const s = new Ccid3Sender(context(100))
    s.onDataSent(0, 1, 1000)
    feedback(s, 50, 1, 0, 0, { elapsedMs: 10 })
    assert.strictEqual(s.rtt, 40)
    assert.strictEqual(s.x, initialWindow(1000) / 0.04)
    assert.strictEqual(s.rto, defaultCcid3Config.minRtoMs, "t_RTO = max(4R, 200 ms)")
  })

  it("feedback that names no packet of ours gives no RTT sample, and acks without CCID 3 options are not feedback", () => {
    const s = new Ccid3Sender(context(100))
    s.onDataSent(0, 1, 1000)
    s.onFeedback(30, ack(1))
    assert.strictEqual(s.feedbackPackets, 0)
    feedback(s, 60, 77, 0, 0)
    assert.strictEqual(s.feedbackPackets, 1)
    assert.strictEqual(s.rtt, 100, "still the handshake's")
  })
})

describe("Ccid3 sender: slow start and the equation (RFC 5348 §4.3)", () => {
  /** A sender that sent packet 1 at 0 and got its first feedback at 40 (R = 40 ms, X = 100 kB/s). */
  const started = (): Ccid3Sender => {
    const s = new Ccid3Sender(context(40))
    s.onDataSent(0, 1, 1000)
    feedback(s, 40, 1, 0, 0)
    return s
  }

  it("doubles X once per RTT, up to twice the receive rate", () => {
    const s = started()
    assert.strictEqual(s.x, 100_000)
    sendWhenAllowed(s, 40, 2)
    feedback(s, 60, 2, 0, 150_000)
    assert.strictEqual(s.x, 100_000, "less than an RTT since the last doubling")
    sendWhenAllowed(s, 61, 3)
    feedback(s, 81, 3, 0, 150_000)
    assert.strictEqual(s.x, 200_000)
    sendWhenAllowed(s, 82, 4)
    feedback(s, 122, 4, 0, 150_000)
    assert.strictEqual(s.x, 300_000, "2·X_recv limits the doubling")
  })

  it("slow start ends at the first loss: X follows the equation from then on", () => {
    const s = started()
    let seq = 2
    for (const t of [81, 122, 163]) {
      sendWhenAllowed(s, t - 40, seq)
      feedback(s, t, seq++, 0, 10_000_000)
    }
    assert.strictEqual(s.x, 800_000)
    sendWhenAllowed(s, 170, seq)
    feedback(s, 210, seq++, 0.01, 10_000_000)
    const expected = throughput(1000, s.rtt!, 0.01)
    assert.approximately(s.xCalc, expected, 1e-6)
    assert.approximately(s.x, expected, 1e-6)
    assert.isBelow(s.x, 800_000)
    // No more doubling: the next feedback keeps X at the equation's rate.
    sendWhenAllowed(s, 260, seq)
    feedback(s, 300, seq++, 0.01, 10_000_000)
    assert.approximately(s.x, throughput(1000, s.rtt!, 0.01), 1e-6)
    assert.strictEqual(s.lossRateIncreases, 1)
  })

  it("a rise of p with a data-limited sender halves the receive-rate limit (§4.3 step 4)", () => {
    const s = started()
    // Never held back by the rate: every interval is data-limited.
    sendWhenAllowed(s, 50, 2)
    feedback(s, 90, 2, 0, 40_000)
    sendWhenAllowed(s, 100, 3)
    feedback(s, 140, 3, 0.001, 40_000)
    // X_recv_set {40 kB/s} halved and X_recv ·0.85: the limit is max(20 kB/s, 34 kB/s).
    assert.approximately(s.x, 34_000, 1e-6)
  })

  it("Slow Receiver holds X for an RTT; Data Dropped (Receive Buffer) halves it and holds it (RFC 4342 §5.2)", () => {
    const s = started()
    sendWhenAllowed(s, 40, 2)
    feedback(s, 90, 2, 0, 10_000_000, { slowReceiver: true })
    assert.strictEqual(s.x, 100_000, "held instead of doubled")
    const blocks = encodeDataDropped([{ dropState: DropState.ReceiveBuffer, length: 1 }])
    sendWhenAllowed(s, 95, 3)
    // An RTT later X would double to 200 kB/s; the drop halves the 100 kB/s it had.
    feedback(s, 140, 3, 0, 10_000_000, { dataDropped: blocks })
    assert.strictEqual(s.x, 50_000)
    sendWhenAllowed(s, 150, 4)
    feedback(s, 160, 4, 0, 10_000_000)
    assert.strictEqual(s.x, 50_000, "held for an RTT")
  })

  it("p can come from the Loss Intervals option alone (RFC 4342 §8.6)", () => {
    const s = started()
    sendWhenAllowed(s, 40, 2)
    const intervals = [100, 100, 100, 100].map((d) => ({ losslessLength: d - 1, lossLength: 1, dataLength: d, ecnNonceEcho: false }))
    assert.strictEqual(s.handleOption(193, encodeLossIntervals(0, intervals), "Ack"), "ok")
    assert.strictEqual(s.handleOption(194, u32(10_000_000), "Ack"), "ok")
    s.onFeedback(80, ack(2))
    assert.approximately(s.p, 0.01, 1e-12)
  })
})

describe("Ccid3 sender: the nofeedback timer (RFC 5348 §4.4)", () => {
  it("before any feedback it expires after 2 s and halves X each time while the sender keeps sending", () => {
    const s = new Ccid3Sender(context(100))
    s.onDataSent(0, 1, 1000)
    const x0 = s.x
    assert.strictEqual(s.nextTimeout(), 2000)
    s.onTimeout(1999)
    assert.strictEqual(s.x, x0, "not yet")
    s.onDataSent(1500, 2, 1000)
    s.onTimeout(2000)
    assert.strictEqual(s.x, x0 / 2)
    assert.strictEqual(s.nextTimeout(), 4000)
    s.onDataSent(3000, 3, 1000)
    s.onTimeout(4000)
    assert.strictEqual(s.x, x0 / 4)
    assert.strictEqual(s.noFeedbackTimeouts, 2)
  })

  it("after feedback it expires after max(t_RTO, 2s/X) and halves through the limits", () => {
    const s = new Ccid3Sender(context(40))
    s.onDataSent(0, 1, 1000)
    feedback(s, 40, 1, 0, 0)
    sendWhenAllowed(s, 50, 2)
    feedback(s, 90, 2, 0.01, 10_000_000)
    const x = s.x
    assert.approximately(x, throughput(1000, s.rtt!, 0.01), 1e-6)
    assert.strictEqual(s.nextTimeout(), 90 + Math.max(200, (2 * 1000 * 1000) / x))
    sendWhenAllowed(s, 100, 3)
    s.onTimeout(s.nextTimeout()!)
    // X_Bps limited the rate, so the new limit is X_Bps/2.
    assert.approximately(s.x, x / 2, 1e-6)
    sendWhenAllowed(s, 400, 4)
    s.onTimeout(s.nextTimeout()!)
    assert.approximately(s.x, x / 4, 1e-6)
  })

  it("an idle sender below twice the recover rate keeps its rate", () => {
    const s = new Ccid3Sender(context(40))
    s.onDataSent(0, 1, 1000)
    feedback(s, 40, 1, 0, 50_000)
    const x = s.x
    s.onTimeout(s.nextTimeout()!)
    assert.strictEqual(s.x, x)
  })

  it("an idle sender above twice the recover rate halves, but never below the initial rate (RFC 4342 §5.1)", () => {
    const s = new Ccid3Sender(context(40))
    s.onDataSent(0, 1, 1000)
    feedback(s, 40, 1, 0, 0)
    let seq = 2
    for (const t of [81, 122, 163, 204]) {
      sendWhenAllowed(s, t - 40, seq)
      feedback(s, t, seq++, 0, 10_000_000)
    }
    assert.strictEqual(s.x, 1_600_000)
    s.onTimeout(s.nextTimeout()!)
    assert.strictEqual(s.x, 800_000)
    for (let i = 0; i < 10; i++) s.onTimeout(s.nextTimeout()!)
    assert.strictEqual(s.x, initialWindow(1000) / 0.04)
  })

  it("never falls below s/t_mbi, one packet per 64 s", () => {
    const s = new Ccid3Sender(context(100))
    s.onDataSent(0, 1, 1000)
    for (let i = 0; i < 40; i++) {
      const at = s.nextTimeout()!
      s.onDataSent(at - 1, 2 + i, 1000)
      s.onTimeout(at)
    }
    assert.approximately(s.x, 1000 / 64, 1e-9)
  })
})

describe("Ccid3 sender: window counter and options (RFC 4342 §8)", () => {
  it("CCVal steps once per quarter RTT, at most 5 between data packets, mod 16", () => {
    const s = new Ccid3Sender(context(100))
    const at = (now: number, seq: number) => {
      const c = s.ccval(now)
      s.onDataSent(now, seq, 1000)
      return c
    }
    assert.deepStrictEqual([at(0, 1), at(10, 2), at(30, 3), at(80, 4), at(1000, 5), at(1010, 6)], [0, 0, 1, 3, 8, 8])
    assert.deepStrictEqual([at(2000, 7), at(3000, 8)], [13, 2])
  })

  it("options 192 and 194 have 4 bytes, else an Option Error; on Data packets they are ignored", () => {
    const s = new Ccid3Sender(context(40))
    s.onDataSent(0, 1, 1000)
    assert.strictEqual(s.handleOption(192, Uint8Array.of(0, 0, 1), "Ack"), "invalid")
    assert.strictEqual(s.handleOption(194, new Uint8Array(5), "Ack"), "invalid")
    assert.strictEqual(s.handleOption(193, new Uint8Array(5), "Ack"), "invalid")
    assert.strictEqual(s.handleOption(200, new Uint8Array(2), "Ack"), "unknown")
    assert.strictEqual(s.handleOption(194, u32(5), "Data"), "ok")
    s.onFeedback(40, { ...ack(1), type: "Data" })
    assert.strictEqual(s.feedbackPackets, 0)
  })

  it("Loss Event Rate is 1/p rounded up, all ones for no loss", () => {
    assert.strictEqual(lossEventRateValue(0), NO_LOSS)
    assert.strictEqual(lossEventRateValue(0.01), 100)
    assert.strictEqual(lossEventRateValue(1 / 137.5), 138)
    assert.strictEqual(lossEventRateValue(1), 1)
    assert.strictEqual(lossEventRateOf(NO_LOSS), 0)
    assert.strictEqual(lossEventRateOf(0), 0)
    assert.strictEqual(lossEventRateOf(100), 0.01)
  })
})

describe("Ccid3 receiver (RFC 5348 §6, RFC 4342 §6, §10)", () => {
  const packet = (seq: number, ccval: number, payloadBytes = 1000, carriesData = true) => ({
    type: carriesData ? ("Data" as const) : ("Ack" as const),
    seq,
    carriesData,
    payloadBytes,
    ccval,
    outOfOrder: false,
    ndpCount: undefined
  })
  /** The CCID 3 options the receiver writes on an Ack now. */
  const options = (r: Ccid3Receiver, now: number) => {
    const w = new OptionWriter(200)
    r.writeOptions(w, "Ack", now)
    const out: Record<number, Uint8Array> = {}
    for (const o of parseOptions(w.finish(), "Ack").options) if (o.option.kind === "Ccid") out[o.option.type] = o.option.data
    return out
  }
  const read32 = (b: Uint8Array | undefined) => (b === undefined ? undefined : ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!))

  it("answers the first data packet at once with X_recv = 0 and no loss", () => {
    const r = new Ccid3Receiver(context(50))
    assert.strictEqual(r.onPacketReceived(0, packet(1, 0, 1000, false)).kind, "none", "not before data")
    assert.strictEqual(r.onPacketReceived(1, packet(2, 0)).kind, "now")
    const o = options(r, 1)
    assert.strictEqual(read32(o[192]), NO_LOSS)
    assert.strictEqual(read32(o[194]), 0)
    assert.isUndefined(o[193], "no Loss Intervals before a loss")
    assert.deepStrictEqual(options(r, 2), {}, "feedback is not repeated on every acknowledgement")
  })

  it("feeds back once per RTT: when the window counter is 4 past the last feedback's, or the RTT timer runs out", () => {
    const r = new Ccid3Receiver(context(40))
    r.onPacketReceived(0, packet(1, 0))
    options(r, 0)
    const d = r.onPacketReceived(10, packet(2, 1))
    assert.deepStrictEqual(d, { kind: "by", at: 40 }, "the handshake RTT until the counters give one")
    assert.strictEqual(r.onPacketReceived(20, packet(3, 2)).kind, "by")
    assert.strictEqual(r.onPacketReceived(30, packet(4, 3)).kind, "by")
    assert.strictEqual(r.onPacketReceived(40, packet(5, 4)).kind, "now")
    // 4 packets of 1000 B since the feedback at 0, over 40 ms.
    assert.strictEqual(read32(options(r, 40)[194]), 100_000)
    // The RTT timer: no counter progress, but data arrived and an RTT passed.
    r.onPacketReceived(50, packet(6, 4))
    assert.deepStrictEqual(options(r, 60), {}, "not yet an RTT")
    assert.strictEqual(read32(options(r, 81)[194]), Math.round(1000 * 1000 / 41))
  })

  it("estimates the RTT from window counters 4 apart (RFC 4342 §8.1)", () => {
    const r = new Ccid3Receiver(context(undefined))
    // The sender's counter steps every 7.5 ms: an RTT of 30 ms.
    for (let i = 0; i < 40; i++) r.onPacketReceived(i * 2.5, packet(100 + i, Math.floor(i / 3) & 15))
    assert.approximately(r.rtt!, 30, 1e-9)
  })

  it("reports a new loss event at once, with p from the seeded history and the Loss Intervals", () => {
    const r = new Ccid3Receiver(context(40))
    // A 1000 B packet every 10 ms (100 kB/s), the window counter stepping with
    // each (R = 40 ms); feedback every 40 ms; packet 51 is lost.
    const at = (seq: number) => (seq - 1) * 10
    for (let seq = 1; seq <= 50; seq++) {
      r.onPacketReceived(at(seq), packet(seq, seq & 15))
      if (at(seq) % 40 === 0) options(r, at(seq))
    }
    assert.strictEqual(r.rtt, 40)
    assert.strictEqual(r.onPacketReceived(at(52), packet(52, 52 & 15)).kind, "by")
    assert.strictEqual(r.onPacketReceived(at(53), packet(53, 53 & 15)).kind, "now", "the counter is 4 past the last feedback's")
    assert.strictEqual(r.onPacketReceived(at(54), packet(54, 54 & 15)).kind, "now", "the third packet after the hole reveals the loss")
    const o = options(r, at(54))
    // RFC 5348 §6.3.1: the seeded first interval is the one at which the
    // equation gives the receive rate when the loss was found — 4 packets
    // since the feedback at 480 ms, over 50 ms. The open interval (51–54) is
    // shorter, so I_mean is the seeded one; the option carries 1/p rounded up.
    const seeded = 1 / lossRateFor(1000, 40, 80_000)
    assert.approximately(throughput(1000, 40, 1 / seeded), 80_000, 0.01)
    assert.strictEqual(read32(o[192]), Math.ceil(seeded))
    assert.strictEqual(read32(o[194]), 100_000, "an early report keeps the last receive rate")
    assert.isDefined(o[193])
    assert.strictEqual(r.loss.lossEvents, 1)
  })
})

describe("CCID 3 between two engines", () => {
  it("negotiates CCID 3 with Linux's dependencies: Ack Ratio 0, no Ack Vectors, NDP Count and Loss Event Rate on", () => {
    const pair = makePair({ client: { ccids: [3] }, server: { ccids: [2, 3] } })
    const server = establish(pair)
    for (const engine of [pair.client, server]) {
      const { txCcid, rxCcid, features } = engine.info()
      assert.strictEqual(txCcid, 3)
      assert.strictEqual(rxCcid, 3)
      assert.deepStrictEqual(features["AckRatio"], { local: 0, remote: 0 })
      assert.deepStrictEqual(features["SendAckVector"], { local: 0, remote: 0 })
      assert.deepStrictEqual(features["SendNdpCount"], { local: 1, remote: 1 })
      assert.deepStrictEqual(features["SendLossEventRate"], { local: 1, remote: 1 })
    }
  })

  it("a server preferring CCID 2 keeps it when the client offers both; one offering only 3 gets 3", () => {
    const both = makePair({ client: { ccids: [2, 3] }, server: { ccids: [2, 3] } })
    assert.strictEqual(establish(both).info().txCcid, 2)
    const only3 = makePair({ client: { ccids: [3] }, server: { ccids: [2, 3] } })
    assert.strictEqual(establish(only3).info().txCcid, 3)
  })

  for (const [tx, rx] of [[3, 2], [2, 3]] as const) {
    it(`CCID ${tx} one way and ${rx} the other: each half-connection gets its dependencies, data flows both ways`, () => {
      const pair = makePair({ client: { ccids: [2, 3], txCcids: [tx], rxCcids: [rx] }, server: { ccids: [2, 3] }, delayMs: 5 })
      const server = establish(pair)
      assert.deepStrictEqual([pair.client.info().txCcid, pair.client.info().rxCcid], [tx, rx])
      assert.deepStrictEqual([server.info().txCcid, server.info().rxCcid], [rx, tx])
      // Ack Vectors only from the receiver of the CCID 2 half; NDP Counts from the CCID 3 sender.
      assert.strictEqual(pair.client.info().features["SendAckVector"]!.local, rx === 2 ? 1 : 0)
      assert.strictEqual(server.info().features["SendAckVector"]!.local, tx === 2 ? 1 : 0)
      assert.strictEqual(pair.client.info().features["SendNdpCount"]!.local, tx === 3 ? 1 : 0)
      let toServer = 0, toClient = 0
      for (let round = 0; round < 200; round++) {
        pair.client.send(pair.wire.now, new Uint8Array(500))
        server.send(pair.wire.now, new Uint8Array(500))
        pair.wire.runFor(10)
        toServer += drainEvents(server).filter((e) => e.type === "data").length
        toClient += drainEvents(pair.client).filter((e) => e.type === "data").length
      }
      assert.isAbove(toServer, 150)
      assert.isAbove(toClient, 150)
    })
  }

  it("the receiver's feedback carries Loss Event Rate and Receive Rate, never an Ack Vector; data packets carry the window counter", () => {
    const pair = makePair({ client: { ccids: [3] }, server: { ccids: [3] }, delayMs: 10 })
    const server = establish(pair)
    for (let round = 0; round < 100; round++) {
      while (pair.client.send(pair.wire.now, new Uint8Array(1000)) === "queued") {}
      pair.wire.runFor(5)
      drainEvents(server)
      drainEvents(pair.client)
    }
    const feedbacks = pair.wire.log.filter((e) => e.direction === "s2c" && e.type === "Ack").map((e) => optionTypes(e.bytes))
      .filter((types) => types.includes(194))
    assert.isAbove(feedbacks.length, 20)
    for (const types of feedbacks) {
      assert.include(types, 192)
      assert.notInclude(types, 38)
    }
    const sender = pair.client.info().sender!
    assert.isAbove(sender["feedbackPackets"]!, 20)
    assert.approximately(sender["rttMs"]!, 20, 1)
    const counters = new Set(pair.wire.log.filter((e) => e.direction === "c2s" && e.type === "Data").map((e) => e.bytes[5]! >> 4))
    assert.isAbove(counters.size, 8)
  })

  it("feedback that waited for the RTT timer reports the wait with Elapsed Time, below a millisecond too", () => {
    for (const delayMs of [10, 0.2]) {
      const pair = makePair({ client: { ccids: [3] }, server: { ccids: [3] }, delayMs })
      establish(pair)
      const from = pair.wire.log.length
      // Two packets with one window counter: the first is fed back at once,
      // the second when the receiver's RTT timer runs out.
      pair.client.send(pair.wire.now, new Uint8Array(100))
      pair.client.send(pair.wire.now, new Uint8Array(100))
      pair.wire.runFor(10 * delayMs + 50)
      const elapsed = pair.wire.log.slice(from).filter((e) => e.direction === "s2c" && e.type === "Ack").flatMap((e) => {
        const d = decodePacket(e.bytes)
        if (!d.ok) return []
        return parseOptions(d.packet.options, "Ack").options.flatMap((o) => (o.option.kind === "ElapsedTime" ? [o.option.elapsed] : []))
      })
      assert.isAbove(elapsed.length, 0, `${delayMs} ms one way`)
      assert.isTrue(elapsed.every((e) => e > 0))
    }
  })

  it("a Loss Event Rate option of the wrong length resets the connection with Option Error (RFC 4340 §5.8)", () => {
    const d = open(duo({ client: { ccids: [3] }, server: { ccids: [3] } }))
    d.now += 5
    d.client.handleDatagram(d.now, craft(d.client, "Ack", { options: Uint8Array.of(192, 5, 0, 0, 1, 0, 0, 0) }))
    const reset = sent(d.client, d.now).find((p) => p.type === "Reset")
    assert.isDefined(reset)
    assert.strictEqual(reset!.resetCode, 5)
    assert.deepStrictEqual(Array.from(reset!.resetData!), [192, 0, 0])
  })
})
