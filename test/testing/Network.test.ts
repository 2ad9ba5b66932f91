import { assert, describe, it } from "@effect/vitest"
import * as Network from "../../src/testing/Network.ts"

const bytes = (...xs: Array<number>) => new Uint8Array(xs)

/** Collects what arrives, with the arrival time. */
const sink = (net: Network.Network) => {
  const got: Array<{ readonly at: number; readonly payload: Uint8Array }> = []
  const receiver: Network.Receiver = { deliver: (payload) => got.push({ at: net.now(), payload }) }
  return { got, receiver }
}

describe("Network · time and events", () => {
  it("delivers at send time + latency, and only when time reaches it", () => {
    const net = Network.make({ latency: 10 })
    const { got, receiver } = sink(net)
    net.transmit("a", "b", bytes(1), receiver)
    assert.strictEqual(net.nextEventTime(), 10)
    net.advance(9.999)
    assert.strictEqual(got.length, 0)
    net.advance(0.001)
    assert.deepStrictEqual(got.map((g) => g.at), [10])
    assert.strictEqual(net.now(), 10)
  })

  it("runs events due at the same time in the order they were scheduled", () => {
    const net = Network.make()
    const order: Array<string> = []
    for (const name of ["first", "second", "third"]) net.schedule(5, () => order.push(name))
    net.schedule(4, () => order.push("earlier"))
    net.advanceTo(5)
    assert.deepStrictEqual(order, ["earlier", "first", "second", "third"])
  })

  it("an event scheduled while running, for now, runs in the same step", () => {
    const net = Network.make()
    const order: Array<string> = []
    net.schedule(3, () => {
      order.push("outer")
      net.schedule(3, () => order.push("inner"))
      net.advanceTo(100) // re-entrant: recorded, not recursive
      order.push("outer done")
    })
    net.advanceTo(3)
    assert.deepStrictEqual(order, ["outer", "outer done", "inner"])
    assert.strictEqual(net.now(), 100)
  })

  it("drive jumps to the next arrival or the earliest deadline, whichever is first", () => {
    const net = Network.make({ latency: 20 })
    const { got, receiver } = sink(net)
    assert.deepStrictEqual(net.drive(), { now: 0, reason: "idle", processed: 0 })
    let timeout: number | undefined = 15
    const remove = net.addDeadline(() => timeout)
    net.transmit("a", "b", bytes(1), receiver)
    assert.deepStrictEqual(net.drive(), { now: 15, reason: "deadline", processed: 0 })
    // an engine that does not handle its timeout keeps drive at now
    assert.deepStrictEqual(net.drive(), { now: 15, reason: "deadline", processed: 0 })
    timeout = undefined
    assert.deepStrictEqual(net.drive(), { now: 20, reason: "event", processed: 1 })
    assert.strictEqual(got.length, 1)
    timeout = 30
    remove()
    assert.strictEqual(net.drive().reason, "idle")
    net.addDeadline(() => 1)
    assert.throws(() => net.runUntilIdle(10), RangeError)
  })

  it("records a refusal by the receiver as a drop with its reason", () => {
    const net = Network.make()
    net.transmit("a", "b", bytes(1, 2), { accept: () => "unbound", deliver: () => assert.fail("refused") })
    net.advance(0)
    assert.deepStrictEqual(net.stats("a", "b").dropped, { unbound: 1 })
    assert.match(net.trace.lines().at(-1)!, /a->b +#1 drop +2B [0-9a-f]{8} unbound$/)
  })
})

describe("Network · hosts, links and ports", () => {
  it("gives hosts 10.0.0.x in order of first use; a host may be named by its address", () => {
    const net = Network.make()
    assert.strictEqual(net.host("a").ip, "10.0.0.1")
    assert.strictEqual(net.host("b").ip, "10.0.0.2")
    assert.strictEqual(net.host("10.0.0.3").ip, "10.0.0.3")
    assert.strictEqual(net.host("c").ip, "10.0.0.4")
    assert.strictEqual(net.host("10.0.0.1").name, "a")
    assert.strictEqual(net.route(net.host("a"), "127.0.0.1")!.name, "a")
    assert.strictEqual(net.route(net.host("a"), "10.0.0.2")!.name, "b")
    assert.isUndefined(net.route(net.host("a"), "10.9.9.9"))
    assert.throws(() => net.host("a->b"))
    assert.throws(() => net.host("300.1.1.1"))
    assert.throws(() => net.host("127.0.0.1"))
  })

  it("binds ports, ephemeral from 49152, and refuses a taken one", () => {
    const net = Network.make()
    const owner = {}
    assert.strictEqual(net.bind("udp", "a", 53, owner), 53)
    assert.isUndefined(net.bind("udp", "a", 53, {}))
    assert.strictEqual(net.bind("tcp", "a", 53, {}), 53)
    assert.strictEqual(net.bind("udp", "a", 0, {}), 49152)
    assert.strictEqual(net.bind("udp", "a", 0, {}), 49153)
    assert.strictEqual(net.bound("udp", "10.0.0.1", 53), owner)
    net.unbind("udp", "a", 53, {})
    assert.strictEqual(net.bound("udp", "a", 53), owner, "only the owner unbinds")
    net.unbind("udp", "a", 53, owner)
    assert.isUndefined(net.bound("udp", "a", 53))
  })

  it("applies defaults to every link, per-selector conditions over them, and keeps loopback ideal", () => {
    const net = Network.make({ latency: 10, links: { "a->b": { latency: 30 }, "c<->d": { loss: 1 } } })
    assert.strictEqual(net.link("a", "b").conditions().latency, 30)
    assert.strictEqual(net.link("b", "a").conditions().latency, 10)
    assert.strictEqual(net.link("d", "c").conditions().loss, 1)
    assert.strictEqual(net.link("a", "a").conditions().latency, 0)
    net.setConditions("*", { jitter: 2 })
    assert.strictEqual(net.link("a", "a").conditions().jitter, 0)
    assert.strictEqual(net.link("e", "f").conditions().jitter, 2, "links made later follow the rule")
    net.setConditions("a->a", { latency: 1 })
    assert.strictEqual(net.link("a", "a").conditions().latency, 1)
    assert.throws(() => net.setConditions("a-b", {}))
    assert.throws(() => net.setConditions("a->b", { loss: 3 }))
    assert.throws(() => Network.make({ links: { "a->b": { duplicate: -1 } } }))
  })
})

describe("Network · faults", () => {
  it("dropAll blocks one direction until heal", () => {
    const net = Network.make({ latency: 1 })
    const ab = sink(net)
    const ba = sink(net)
    net.dropAll("a->b")
    net.transmit("a", "b", bytes(1), ab.receiver)
    net.transmit("b", "a", bytes(2), ba.receiver)
    net.advance(5)
    assert.strictEqual(ab.got.length, 0)
    assert.strictEqual(ba.got.length, 1)
    assert.deepStrictEqual(net.stats("a", "b").dropped, { blocked: 1 })
    net.heal("a->b")
    net.transmit("a", "b", bytes(3), ab.receiver)
    net.advance(5)
    assert.strictEqual(ab.got.length, 1)
  })

  it("partition cuts both directions between groups, applies to links made later, and heals", () => {
    const net = Network.make()
    net.partition(["a", "b"], "c")
    for (const [from, to] of [["a", "c"], ["c", "a"], ["b", "c"], ["c", "b"]] as const) {
      assert.isTrue(net.link(from, to).blocked(), `${from}->${to}`)
    }
    assert.isFalse(net.link("a", "b").blocked())
    net.heal()
    assert.isFalse(net.link("c", "a").blocked())
  })

  it("holds stream segments while blocked and releases them, in order, at the heal", () => {
    const net = Network.make({ latency: 10 })
    const { got, receiver } = sink(net)
    net.transmitReliable("a", "b", bytes(0), "DATA", receiver)
    net.dropAll("a<->b")
    for (let i = 1; i <= 3; i++) net.transmitReliable("a", "b", bytes(i), "DATA", receiver)
    net.advance(50)
    assert.deepStrictEqual(got.map((g) => [g.at, g.payload[0]]), [[10, 0]])
    net.heal("a<->b")
    net.advance(50)
    assert.deepStrictEqual(got.map((g) => [g.at, g.payload[0]]), [[10, 0], [60, 1], [60, 2], [60, 3]])
  })

  it("runs a script of faults at their times, and traces them", () => {
    const net = Network.make({
      latency: 1,
      script: [
        { at: 100, fault: Network.dropAll("a->b") },
        { at: "200 millis", fault: Network.heal() },
        { at: 300, fault: Network.setConditions("a->b", { latency: 50 }) }
      ]
    })
    const { got, receiver } = sink(net)
    const sendAt = (t: number) => net.schedule(t, () => net.transmit("a", "b", bytes(t & 255), receiver))
    for (const t of [50, 150, 250, 350]) sendAt(t)
    net.runUntilIdle()
    assert.deepStrictEqual(got.map((g) => g.at), [51, 251, 400])
    const faults = net.trace.events().filter((e) => e.kind === "fault")
    assert.deepStrictEqual(faults.map((e) => [e.at, e.link, e.detail]), [
      [100, "a->b", "dropAll"],
      [200, "*", "heal"],
      [300, "a->b", "conditions latency=50ms"]
    ])
  })
})

describe("Network · determinism", () => {
  const scenario = (seed: number, withOtherTraffic = false) => {
    const net = Network.make({ seed, latency: 5, jitter: 4, loss: 0.1, duplicate: 0.05, reorder: 0.05, corrupt: 0.02 })
    const receiver: Network.Receiver = { deliver: () => {} }
    for (let i = 0; i < 500; i++) {
      net.schedule(i * 0.7, () => net.transmit("a", "b", bytes(i & 255, i >> 8), receiver))
      net.schedule(i * 1.3, () => net.transmit("b", "a", bytes(7, i & 255), receiver))
      if (withOtherTraffic) net.schedule(i * 0.9, () => net.transmit("c", "b", bytes(9), receiver))
    }
    net.at(200, Network.partition("a", "b"))
    net.at(260, Network.heal())
    net.runUntilIdle()
    return net
  }

  it("the same seed and inputs give byte-identical traces; a different seed differs", () => {
    const one = scenario(11)
    const two = scenario(11)
    assert.strictEqual(one.trace.lines().join("\n"), two.trace.lines().join("\n"))
    assert.strictEqual(one.trace.digest(), two.trace.digest())
    assert.isAbove(one.trace.count(), 2000)
    const other = scenario(12)
    assert.notStrictEqual(other.trace.digest(), one.trace.digest())
  })

  it("each link has its own random stream: traffic elsewhere does not change a->b", () => {
    const a2b = (net: Network.Network) =>
      net.trace.lines().filter((line) => / a->b /.test(line)).join("\n")
    assert.strictEqual(a2b(scenario(11, true)), a2b(scenario(11)))
  })

  it("a trace can be turned off (nothing recorded)", () => {
    const net = Network.make({ trace: false, loss: 0.5 })
    for (let i = 0; i < 100; i++) net.transmit("a", "b", bytes(i), { deliver: () => {} })
    net.runUntilIdle()
    assert.strictEqual(net.trace.count(), 0)
    assert.strictEqual(net.stats("a", "b").sent, 100)
  })
})

// A sans-IO stop-and-wait sender and receiver, driven like quinn-proto's test Pair.
class Sender {
  readonly messages: ReadonlyArray<number>
  next = 0
  inflight: { seq: number; deadline: number; resend: boolean; sent: boolean } | undefined
  constructor(messages: ReadonlyArray<number>) {
    this.messages = messages
  }
  pollTransmit(now: number): Uint8Array | undefined {
    if (this.inflight === undefined && this.next < this.messages.length) {
      this.inflight = { seq: this.next, deadline: now + 40, resend: false, sent: false }
    }
    const f = this.inflight
    if (f === undefined || (f.sent && !f.resend)) return undefined
    f.sent = true
    f.resend = false
    return bytes(0, f.seq, this.messages[f.seq]!)
  }
  handleDatagram(_now: number, packet: Uint8Array): void {
    if (packet[0] === 1 && this.inflight?.seq === packet[1]) {
      this.inflight = undefined
      this.next++
    }
  }
  pollTimeout(): number | undefined {
    return this.inflight?.deadline
  }
  handleTimeout(now: number): void {
    if (this.inflight !== undefined && now >= this.inflight.deadline) {
      this.inflight.resend = true
      this.inflight.deadline = now + 40
    }
  }
}

class Receiver {
  expected = 0
  readonly delivered: Array<number> = []
  readonly acks: Array<number> = []
  handleDatagram(_now: number, packet: Uint8Array): void {
    if (packet[0] !== 0) return
    const seq = packet[1]!
    if (seq === this.expected) {
      this.delivered.push(packet[2]!)
      this.expected++
    }
    if (seq < this.expected) this.acks.push(seq)
  }
  pollTransmit(): Uint8Array | undefined {
    const seq = this.acks.shift()
    return seq === undefined ? undefined : bytes(1, seq)
  }
}

describe("Network · a sans-IO protocol in a plain loop", () => {
  const exchange = (seed: number) => {
    const messages = Array.from({ length: 60 }, (_, i) => (i * 37) & 255)
    const net = Network.make({ seed, latency: 10, jitter: 3, loss: 0.3, duplicate: 0.1, reorder: 0.1 })
    const sender = new Sender(messages)
    const receiver = new Receiver()
    net.addDeadline(() => sender.pollTimeout())
    const flush = () => {
      for (let p = sender.pollTransmit(net.now()); p !== undefined; p = sender.pollTransmit(net.now())) {
        net.transmit("a", "b", p, { deliver: (b) => receiver.handleDatagram(net.now(), b) })
      }
      for (let p = receiver.pollTransmit(); p !== undefined; p = receiver.pollTransmit()) {
        net.transmit("b", "a", p, { deliver: (b) => sender.handleDatagram(net.now(), b) })
      }
    }
    flush()
    let steps = 0
    while (receiver.delivered.length < messages.length) {
      const step = net.drive()
      assert.notStrictEqual(step.reason, "idle", "the protocol stalled")
      sender.handleTimeout(net.now())
      flush()
      steps++
    }
    return { net, messages, delivered: receiver.delivered, steps }
  }

  it("delivers every message once, in order, through 30% loss, duplicates and reordering", () => {
    const { delivered, messages, net } = exchange(21)
    assert.deepStrictEqual(delivered, messages)
    const ab = net.stats("a", "b")
    assert.isAbove(ab.dropped["loss"] ?? 0, 10, "loss was exercised")
    assert.isAbove(ab.duplicated, 2, "duplication was exercised")
    assert.isAbove(ab.sent, messages.length, "something was resent")
  })

  it("replays exactly: same seed, same steps, same trace", () => {
    const a = exchange(21)
    const b = exchange(21)
    assert.strictEqual(a.steps, b.steps)
    assert.strictEqual(a.net.now(), b.net.now())
    assert.strictEqual(a.net.trace.digest(), b.net.trace.digest())
    assert.notStrictEqual(exchange(22).net.trace.digest(), a.net.trace.digest())
  })
})
