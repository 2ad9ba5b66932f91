/**
 * Bulk flows through one bottleneck of effect-mio/testing's synchronous
 * `Network` (a link with a bandwidth and a bounded drop-tail queue), in
 * virtual time: each flow is a sender engine that keeps its send queue full of
 * 1 KiB Delivery messages and a receiver engine that reads everything. Every
 * ack-eliciting packet a sender transmits is recorded with the controller's
 * window and pacing figures at that moment, so a test can check that no
 * sender exceeded its window or burst past its pacing.
 */
import { makeConfig } from "../../src/rudp/engine/Config.ts"
import type { CongestionFactory } from "../../src/rudp/engine/Congestion.ts"
import { RudpEngine } from "../../src/rudp/engine/Connection.ts"
import type { ConditionsInput } from "../../src/testing/Impairment.ts"
import * as Network from "../../src/testing/Network.ts"
import * as Prng from "../../src/testing/Prng.ts"

export interface Flow {
  readonly sender: RudpEngine
  readonly receiver: RudpEngine
  /** Payload bytes the receiver read, and when (ms) it read each kilobyte. */
  received: number
  /** Sends: time, size, bytes in flight after, window, pacing burst. */
  readonly sends: Array<{ readonly at: number; readonly size: number; readonly inFlight: number; readonly window: number; readonly burst: number }>
}

export interface BottleneckOptions {
  readonly seed: number
  /** Conditions of the a->b direction (the bottleneck) and of b->a (the acknowledgements). */
  readonly forward: ConditionsInput
  readonly backward?: ConditionsInput | undefined
  readonly flows: ReadonlyArray<{ readonly congestion: "bbr" | "aimd" | "none" | CongestionFactory; readonly startAt?: number | undefined }>
}

const MESSAGE = new Uint8Array(1024).fill(7)

export const runBottleneck = (
  options: BottleneckOptions,
  untilMs: number,
  onStep?: (now: number) => void,
  onFlows?: (flows: ReadonlyArray<Flow>) => void
): { net: Network.Network; flows: Array<Flow> } => {
  const net = Network.make({ seed: options.seed, trace: false })
  net.host("a")
  net.host("b")
  net.link("a", "b")
  net.link("b", "a")
  net.setConditions("a->b", options.forward)
  net.setConditions("b->a", options.backward ?? {})
  const random = Prng.make(options.seed).next
  const flows: Array<Flow> = []
  onFlows?.(flows)
  const buf = new Uint8Array(2048)
  const pumpFlow = (f: Flow): void => {
    const now = net.now()
    // Keep the sender's queue full.
    while (f.sender.canSend(MESSAGE.length) && f.sender.outbox.queue.length < 256) f.sender.send(now, MESSAGE, "Delivery")
    let before = f.sender.bytesInFlight
    for (let n = f.sender.pollTransmitInto(now, buf); n > 0; n = f.sender.pollTransmitInto(now, buf)) {
      const cc = f.sender.cc.stats()
      // Only ack-eliciting packets count against the window and the pacer (not ACK-only ones).
      if (f.sender.bytesInFlight === before + n) {
        f.sends.push({ at: now, size: n, inFlight: f.sender.bytesInFlight, window: f.sender.cc.window(), burst: cc["pacingBurst"] ?? Infinity })
      }
      before = f.sender.bytesInFlight
      net.transmit("a", "b", buf.slice(0, n), { deliver: (bytes) => (f.receiver.handleDatagram(net.now(), bytes), pumpAll()) })
    }
    for (let n = f.receiver.pollTransmitInto(now, buf); n > 0; n = f.receiver.pollTransmitInto(now, buf)) {
      net.transmit("b", "a", buf.slice(0, n), { deliver: (bytes) => (f.sender.handleDatagram(net.now(), bytes), pumpAll()) })
    }
    for (let m = f.receiver.pollMessage(); m !== undefined; m = f.receiver.pollMessage()) f.received += m.payload.length
    while (f.sender.pollEvent() !== undefined) { /* drain */ }
    while (f.receiver.pollEvent() !== undefined) { /* drain */ }
  }
  let pumping = false
  const pumpAll = (): void => {
    if (pumping) return
    pumping = true
    try {
      for (let i = 0; i < 4; i++) for (const f of flows) pumpFlow(f)
    } finally {
      pumping = false
    }
  }
  for (const spec of options.flows) {
    const start = (): void => {
      const now = net.now()
      const common = { random, initialRtt: 100, receiveWindow: 4 * 1024 * 1024 }
      const f: Flow = {
        sender: new RudpEngine(now, makeConfig({ ...common, congestion: spec.congestion })),
        receiver: new RudpEngine(now, makeConfig({ ...common, role: "server" })),
        received: 0,
        sends: []
      }
      flows.push(f)
      net.addDeadline(() => f.sender.pollTimeout())
      net.addDeadline(() => f.receiver.pollTimeout())
      pumpAll()
    }
    if ((spec.startAt ?? 0) === 0) start()
    else net.schedule(spec.startAt!, start)
  }
  while (net.now() < untilMs) {
    const step = net.drive()
    if (step.reason === "idle") break
    const now = net.now()
    for (const f of flows) {
      for (const e of [f.sender, f.receiver]) {
        const due = e.pollTimeout()
        if (due !== undefined && due <= now) e.handleTimeout(now)
      }
    }
    pumpAll()
    onStep?.(now)
  }
  return { net, flows }
}

/** Bits per second of payload a flow received between `from` and `to` (ms), from samples taken by the caller. */
export const mbps = (bytes: number, ms: number): number => (bytes * 8) / (ms * 1000)
