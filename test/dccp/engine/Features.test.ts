import { assert, describe, it } from "@effect/vitest"
import {
  Feature,
  FeatureNegotiation,
  type FeatureSetting,
  reconcileServerPriority
} from "../../../src/dccp/engine/Features.ts"
import { type DccpOption, OptionWriter, type ParsedOption, parseOptions } from "../../../src/dccp/engine/Options.ts"

type FeatureOption = Extract<DccpOption, { kind: "Change" | "Confirm" }>

/** The feature options `from` would put on its next packet. */
const emit = (from: FeatureNegotiation, retain = false, now = 0, spacingMs = 0): Array<ParsedOption> => {
  const w = new OptionWriter(1000)
  from.writeOptions(w, retain, now, spacingMs)
  return [...parseOptions(w.finish(), "Ack").options]
}

/** Feeds options to `to`; returns the first failure. */
const feed = (to: FeatureNegotiation, options: ReadonlyArray<ParsedOption>) => {
  for (const o of options) {
    const failure = to.receive(o.option as FeatureOption, o.mandatory, o.value)
    if (failure !== undefined) return failure
  }
  return undefined
}

/** Builds one Change/Confirm option as the wire would carry it. */
const option = (kind: "Change" | "Confirm", end: "L" | "R", feature: number, value: Array<number>, mandatory = false): ParsedOption => {
  const w = new OptionWriter(300)
  w.addFeature(kind, end, feature, value, mandatory)
  return parseOptions(w.finish(), "Ack").options[0]!
}

const describeOptions = (options: ReadonlyArray<ParsedOption>) =>
  options.map((o) => {
    const f = o.option as FeatureOption
    return `${o.mandatory ? "!" : ""}${f.kind}${f.end}(${f.feature}:${Array.from(f.value).join(",")})`
  })

const setting = (
  feature: number,
  end: "local" | "remote",
  preference: Array<number>,
  propose = false,
  mandatory = false
): FeatureSetting => ({ feature, end, preference, propose, mandatory })

describe("Features: server-priority reconciliation (§6.3.1)", () => {
  it("takes the first server value the client also lists", () => {
    assert.strictEqual(reconcileServerPriority([3, 2], [2, 3]), 3)
    assert.strictEqual(reconcileServerPriority([2, 3], [3]), 3)
    assert.strictEqual(reconcileServerPriority([2], [3, 4]), undefined)
    assert.strictEqual(reconcileServerPriority([], [1]), undefined)
  })
})

describe("Features: a handshake between two negotiators", () => {
  it("client Changes are confirmed with the chosen value then the preference list", () => {
    const client = new FeatureNegotiation("client", [
      setting(Feature.CCID, "local", [3, 2], true),
      setting(Feature.CCID, "remote", [2, 3], true),
      setting(Feature.EcnIncapable, "local", [1, 0], true)
    ])
    const server = new FeatureNegotiation("server", [
      setting(Feature.CCID, "local", [2, 3]),
      setting(Feature.CCID, "remote", [2, 3]),
      setting(Feature.EcnIncapable, "remote", [1, 0])
    ])
    const request = emit(client)
    assert.deepStrictEqual(describeOptions(request), ["ChangeL(1:3,2)", "ChangeR(1:2,3)", "ChangeL(4:1,0)"])
    assert.isUndefined(feed(server, request))
    // Server priority: CCID/client = first of the server's [2,3] in the client's [3,2] = 2.
    assert.strictEqual(server.value(Feature.CCID, "remote"), 2)
    assert.strictEqual(server.value(Feature.CCID, "local"), 2)
    assert.strictEqual(server.value(Feature.EcnIncapable, "remote"), 1)
    const response = emit(server)
    assert.deepStrictEqual(describeOptions(response), ["ConfirmR(1:2,2,3)", "ConfirmL(1:2,2,3)", "ConfirmR(4:1,1,0)"])
    assert.isUndefined(feed(client, response))
    assert.strictEqual(client.value(Feature.CCID, "local"), 2)
    assert.strictEqual(client.value(Feature.CCID, "remote"), 2)
    assert.strictEqual(client.value(Feature.EcnIncapable, "local"), 1)
    assert.isFalse(client.hasPendingChanges)
    // Confirms are sent once.
    assert.deepStrictEqual(emit(server), [])
  })

  it("unconfirmed Changes are retransmitted on every packet, then given up", () => {
    const client = new FeatureNegotiation("client", [setting(Feature.SendNdpCount, "local", [1], true)], 3)
    assert.strictEqual(emit(client).length, 1)
    assert.strictEqual(emit(client).length, 1)
    assert.strictEqual(emit(client).length, 1)
    assert.strictEqual(emit(client).length, 0)
    assert.strictEqual(client.value(Feature.SendNdpCount, "local"), 0)
  })

  it("a Change on many packets within one retransmission interval counts as one transmission", () => {
    const client = new FeatureNegotiation("client", [setting(Feature.SendNdpCount, "local", [1], true)], 3)
    // A full window: 50 packets within 200 ms, each carrying the Change.
    for (let i = 0; i < 50; i++) assert.strictEqual(emit(client, false, 1000 + i, 200).length, 1)
    assert.isTrue(client.hasPendingChange(Feature.SendNdpCount, "local"))
    // Two more intervals count twice more: the third transmission is the last.
    assert.strictEqual(emit(client, false, 1200, 200).length, 1)
    assert.strictEqual(emit(client, false, 1300, 200).length, 1)
    assert.strictEqual(emit(client, false, 1400, 200).length, 1)
    assert.strictEqual(emit(client, false, 1401, 200).length, 0)
    assert.strictEqual(client.value(Feature.SendNdpCount, "local"), 0)
    // Confirmed in time, the Change takes effect.
    const other = new FeatureNegotiation("client", [setting(Feature.SendNdpCount, "local", [1], true)], 3)
    for (let i = 0; i < 50; i++) emit(other, false, 1000 + i, 200)
    assert.isUndefined(feed(other, [option("Confirm", "R", Feature.SendNdpCount, [1])]))
    assert.strictEqual(other.value(Feature.SendNdpCount, "local"), 1)
  })

  it("the client repeats Confirms while asked to retain them (PARTOPEN), and drops sent ones on OPEN", () => {
    const client = new FeatureNegotiation("client", [])
    feed(client, [option("Change", "L", Feature.EcnIncapable, [1])])
    assert.strictEqual(emit(client, true).length, 1)
    assert.strictEqual(emit(client, true).length, 1)
    feed(client, [option("Change", "L", Feature.SendNdpCount, [1])])
    client.discardSentConfirms()
    // Only the Confirm queued after the last transmission is left.
    assert.deepStrictEqual(describeOptions(emit(client)), ["ConfirmR(7:1,0,1)"])
  })
})

describe("Features: a peer that repeats Changes the way Linux does", () => {
  it("repeated NN Changes — on Ack, DataAck and even Close — give one Confirm each time, never two in a packet", () => {
    const us = new FeatureNegotiation("client", [])
    const change = option("Change", "L", Feature.SequenceWindow, [0, 0, 0, 0, 0, 50])
    // Ack and DataAck before we send anything: one Confirm.
    feed(us, [change])
    feed(us, [change])
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmR(3:0,0,0,0,0,50)"])
    assert.strictEqual(us.value(Feature.SequenceWindow, "remote"), 50)
    // Linux sends it again on its Close: confirmed again.
    feed(us, [change, change])
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmR(3:0,0,0,0,0,50)"])
    assert.deepStrictEqual(emit(us), [])
  })

  it("a Change in the same packet twice is confirmed once", () => {
    const us = new FeatureNegotiation("server", [])
    feed(us, [option("Change", "L", Feature.AckRatio, [0, 1]), option("Change", "L", Feature.AckRatio, [0, 1])])
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmR(5:0,1)"])
    assert.strictEqual(us.value(Feature.AckRatio, "remote"), 1)
  })

  it("Linux's CCID 2 dependency turns our pending Change into its own: we take the Change as the answer", () => {
    // We asked Change R(Send Ack Vector = 1); Linux registers the same dependency
    // and sends Change L(Send Ack Vector = 1) instead of confirming ours.
    const us = new FeatureNegotiation("client", [setting(Feature.SendAckVector, "remote", [1], true, true)])
    assert.deepStrictEqual(describeOptions(emit(us)), ["!ChangeR(6:1)"])
    feed(us, [option("Change", "L", Feature.SendAckVector, [1], true)])
    assert.strictEqual(us.value(Feature.SendAckVector, "remote"), 1)
    assert.isFalse(us.hasPendingChanges)
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmR(6:1,1)"])
  })

  it("Linux-style SP Confirms (value repeated, then the list) and singleton Confirms are both accepted", () => {
    const a = new FeatureNegotiation("client", [setting(Feature.CCID, "local", [2, 3], true)])
    emit(a)
    assert.isUndefined(feed(a, [option("Confirm", "R", Feature.CCID, [2, 2, 3])]))
    assert.strictEqual(a.value(Feature.CCID, "local"), 2)
    const b = new FeatureNegotiation("client", [setting(Feature.EcnIncapable, "local", [1], true)])
    emit(b)
    assert.isUndefined(feed(b, [option("Confirm", "R", Feature.EcnIncapable, [1])]))
    assert.strictEqual(b.value(Feature.EcnIncapable, "local"), 1)
  })
})

describe("Features: refusals and errors (§6.6.7–§6.6.9)", () => {
  it("an unknown feature gets an empty Confirm; after Mandatory, Reset 6", () => {
    const us = new FeatureNegotiation("server", [])
    assert.isUndefined(feed(us, [option("Change", "L", 200, [1])]))
    assert.isUndefined(feed(us, [option("Change", "R", 10, [1])]))
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmR(200:)", "ConfirmL(10:)"])
    assert.deepStrictEqual(feed(us, [option("Change", "L", 200, [1], true)]), { resetCode: 6, data: [32, 200, 1] })
  })

  it("a Change with no value is refused like an unknown feature (§6.1)", () => {
    const us = new FeatureNegotiation("server", [])
    assert.isUndefined(feed(us, [option("Change", "L", Feature.CCID, [])]))
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmR(1:)"])
  })

  it("SP without a shared value keeps the old value; after Mandatory, Reset 6", () => {
    const us = new FeatureNegotiation("server", [setting(Feature.CCID, "remote", [2])])
    assert.isUndefined(feed(us, [option("Change", "L", Feature.CCID, [3])]))
    assert.strictEqual(us.value(Feature.CCID, "remote"), 2)
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmR(1:2,2)"])
    assert.deepStrictEqual(feed(us, [option("Change", "L", Feature.CCID, [3], true)]), { resetCode: 6, data: [32, 1, 3] })
  })

  it("NN: Change R is invalid, out-of-range values are refused, valid ones applied at once", () => {
    const us = new FeatureNegotiation("client", [])
    feed(us, [option("Change", "R", Feature.SequenceWindow, [0, 0, 0, 0, 0, 200])])
    feed(us, [option("Change", "L", Feature.SequenceWindow, [0, 0, 0, 0, 0, 31])])
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmL(3:)", "ConfirmR(3:)"])
    assert.strictEqual(us.value(Feature.SequenceWindow, "remote"), 100)
    assert.deepStrictEqual(
      feed(us, [option("Change", "L", Feature.SequenceWindow, [0, 0, 0, 0, 0, 31], true)]),
      { resetCode: 6, data: [32, 3, 0] }
    )
    // Ack Ratio 0 is what Linux sends for CCID 3: accepted.
    assert.isUndefined(feed(us, [option("Change", "L", Feature.AckRatio, [0, 0])]))
    assert.strictEqual(us.value(Feature.AckRatio, "remote"), 0)
  })

  it("Confirms of our Changes: wrong values are an Option Error, empty ones revert or fail", () => {
    const wrong = new FeatureNegotiation("client", [setting(Feature.CCID, "local", [2], true)])
    emit(wrong)
    assert.deepStrictEqual(feed(wrong, [option("Confirm", "R", Feature.CCID, [3, 3])]), { resetCode: 5, data: [35, 1, 3] })
    // A mis-reconciled value: server list [2,3], our list [3,2] → 2, but the peer claims 3.
    const mis = new FeatureNegotiation("client", [setting(Feature.CCID, "local", [3, 2], true)])
    emit(mis)
    assert.strictEqual(feed(mis, [option("Confirm", "R", Feature.CCID, [3, 2, 3])])?.resetCode, 5)
    // Empty Confirm for a required feature (CCID, Short Seqnos, Sequence Window): Option Error.
    const required = new FeatureNegotiation("client", [setting(Feature.CCID, "local", [2], true)])
    emit(required)
    assert.strictEqual(feed(required, [option("Confirm", "R", Feature.CCID, [])])?.resetCode, 5)
    // Empty Confirm for an optional feature: keep the old value.
    const optional = new FeatureNegotiation("client", [setting(Feature.SendNdpCount, "local", [1], true)])
    emit(optional)
    assert.isUndefined(feed(optional, [option("Confirm", "R", Feature.SendNdpCount, [])]))
    assert.strictEqual(optional.value(Feature.SendNdpCount, "local"), 0)
    assert.isFalse(optional.hasPendingChanges)
  })

  it("a Confirm of the kept value is accepted when the lists share nothing", () => {
    const us = new FeatureNegotiation("client", [setting(Feature.MinimumChecksumCoverage, "local", [5, 6], true)])
    emit(us)
    assert.isUndefined(feed(us, [option("Confirm", "R", Feature.MinimumChecksumCoverage, [0, 1, 2])]))
    assert.strictEqual(us.value(Feature.MinimumChecksumCoverage, "local"), 0)
    assert.isFalse(us.hasPendingChanges)
  })

  it("NN Confirms for an older value are ignored; the current one settles it", () => {
    const us = new FeatureNegotiation("client", [])
    us.propose(Feature.SequenceWindow, "local", [200])
    emit(us)
    us.propose(Feature.SequenceWindow, "local", [400])
    assert.isUndefined(feed(us, [option("Confirm", "R", Feature.SequenceWindow, [0, 0, 0, 0, 0, 200])]))
    assert.strictEqual(us.value(Feature.SequenceWindow, "local"), 100)
    assert.isTrue(us.hasPendingChange(Feature.SequenceWindow, "local"))
    assert.isUndefined(feed(us, [option("Confirm", "R", Feature.SequenceWindow, [0, 0, 0, 0, 1, 144])]))
    assert.strictEqual(us.value(Feature.SequenceWindow, "local"), 400)
  })

  it("unsolicited Confirms are ignored, except a Mandatory one for an unknown feature", () => {
    const us = new FeatureNegotiation("client", [])
    assert.isUndefined(feed(us, [option("Confirm", "R", Feature.CCID, [3, 3])]))
    assert.strictEqual(us.value(Feature.CCID, "local"), 2)
    assert.isUndefined(feed(us, [option("Confirm", "L", 150, [1])]))
    assert.strictEqual(feed(us, [option("Confirm", "L", 150, [1], true)])?.resetCode, 6)
  })

  it("after the handshake the CCID cannot change", () => {
    const us = new FeatureNegotiation("server", [setting(Feature.CCID, "local", [2, 3])])
    us.freezeCcid()
    feed(us, [option("Change", "R", Feature.CCID, [3])])
    assert.strictEqual(us.value(Feature.CCID, "local"), 2)
    assert.deepStrictEqual(describeOptions(emit(us)), ["ConfirmL(1:2,2,3)"])
  })
})

describe("Features: the options Linux 6.1 sends (measured, reference §2)", () => {
  it("a Linux client Request negotiates cleanly with our server settings", () => {
    const server = new FeatureNegotiation("server", [
      setting(Feature.CCID, "local", [2]),
      setting(Feature.CCID, "remote", [2]),
      setting(Feature.AllowShortSeqnos, "remote", [0, 1]),
      setting(Feature.EcnIncapable, "remote", [1, 0])
    ])
    const linuxRequest = [
      option("Change", "L", Feature.CCID, [2, 3]),
      option("Change", "R", Feature.CCID, [2, 3]),
      option("Change", "L", Feature.AllowShortSeqnos, [0], true),
      option("Change", "L", Feature.EcnIncapable, [1], true)
    ]
    assert.isUndefined(feed(server, linuxRequest))
    assert.deepStrictEqual(describeOptions(emit(server)), [
      "ConfirmR(1:2,2)",
      "ConfirmL(1:2,2)",
      "ConfirmR(2:0,0,1)",
      "ConfirmR(4:1,1,0)"
    ])
  })

  it("a Linux server Response (CCID 2) is answered by our client's first Ack", () => {
    const client = new FeatureNegotiation("client", [
      setting(Feature.CCID, "local", [2], true),
      setting(Feature.CCID, "remote", [2], true)
    ])
    emit(client)
    const linuxResponse = [
      option("Confirm", "R", Feature.CCID, [2, 2, 3]),
      option("Confirm", "L", Feature.CCID, [2, 2, 3]),
      option("Change", "L", Feature.AllowShortSeqnos, [0], true),
      option("Change", "L", Feature.EcnIncapable, [1], true),
      option("Change", "R", Feature.SendAckVector, [1], true),
      option("Change", "L", Feature.SendAckVector, [1], true)
    ]
    assert.isUndefined(feed(client, linuxResponse))
    const ack = describeOptions(emit(client, true))
    // Every server Change is confirmed (Linux fails activation otherwise).
    assert.deepStrictEqual(ack, ["ConfirmR(2:0,0,1)", "ConfirmR(4:1,0,1)", "ConfirmL(6:1,0,1)", "ConfirmR(6:1,0,1)"])
    assert.strictEqual(client.value(Feature.SendAckVector, "local"), 1)
    assert.strictEqual(client.value(Feature.SendAckVector, "remote"), 1)
  })
})
