/**
 * CCID 3 (RFC 4342) against Linux 6.1's own: our client against the kernel's
 * CCID 3 echo (port 5003) over raw IPv4 and IPv6, the kernel's client asking
 * for CCID 3 against our server, CCID 3 one way and CCID 2 the other in both
 * directions (ports 5007/5008, and the kernel's client with T/R CCIDs), and a
 * lossy path (our Relay in front of the harness's DCCP-UDP relay) on which
 * both receivers measure loss. The kernel's TFRC state (tfrc_tx_info and
 * tfrc_rx_info, recorded by the guest's kpeer) agrees with what we sent and
 * received; tshark decodes every CCID 3 option without expert info. Run by
 * `npm run test:interop`, inside the peer's netns.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Dccp from "../../src/dccp/Dccp.ts"
import { lossEventRateValue } from "../../src/dccp/engine/Ccid3.ts"
import { throughput } from "../../src/dccp/engine/Tfrc.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Impairment from "../../src/testing/Impairment.ts"
import * as Relay from "../../src/testing/Relay.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { capture } from "./capture.ts"
import { GUEST4, GUEST6, HOST4, HOST6, kpeerClient, parseTfrc, serverConnection, serverConnections, udpRelay } from "./peer.ts"

const decoder = new TextDecoder()
const tap = capture("ccid3")
beforeAll(() => tap.start())
afterAll(async () => {
  await tap.stop()
  tap.remove()
})

const families = [
  { name: "IPv4", target: (port: number) => `${GUEST4}:${port}`, bind: undefined, host: HOST4, listen: (port: number) => `${HOST4}:${port}`, peer: `${HOST4}:` },
  { name: "IPv6", target: (port: number) => `[${GUEST6}]:${port}`, bind: HOST6, host: HOST6, listen: (port: number) => `[${HOST6}]:${port}`, peer: `[${HOST6}]:` }
] as const

/**
 * Echoes `count` datagrams of `size` bytes, at most `window` unanswered at a
 * time (an echo that does not come within 100 ms counts as lost); returns how
 * many came back.
 */
const bulk = (socket: Dccp.DccpSocket, count: number, size: number, window: number, timeout: Duration.Input) =>
  Effect.gen(function*() {
    const payload = new Uint8Array(size).fill(0x5a)
    let received = 0, progressAt = Date.now()
    const reader = yield* Effect.forkChild(Effect.forever(Effect.map(socket.recv, () => {
      received++
      progressAt = Date.now()
    })).pipe(Effect.ignore))
    for (let i = 0; i < count; i++) {
      yield* socket.send(payload)
      while (i + 1 - received > window && Date.now() - progressAt < 100) yield* Effect.sleep("1 millis")
    }
    const deadline = Date.now() + 2000
    while (received < count && Date.now() < deadline) yield* Effect.sleep("5 millis")
    yield* Fiber.interrupt(reader)
    return received
  }).pipe(Effect.timeout(timeout))

/** Lets the last feedback of both sides arrive. */
const settle = Effect.sleep("300 millis")

describe("CCID 3: our client against Linux's CCID 3 echo (raw IP)", () => {
  checkFdLeaks()

  for (const f of families) {
    it.live(`${f.name}: CCID 3 both ways; the kernel's tfrc_tx_info/tfrc_rx_info agree with our feedback and theirs`, () =>
      Effect.gen(function*() {
        const before = (yield* serverConnections(5003, f.peer)).length
        const socket = yield* Dccp.connect({ address: f.target(5003), serviceCode: 42, transport: "raw", ccid: 3, ...(f.bind ? { bind: f.bind } : {}) })
        for (let i = 0; i < 10; i++) {
          yield* socket.send(`tfrc-${f.name}-${i}`)
          assert.strictEqual(decoder.decode(yield* socket.recv), `tfrc-${f.name}-${i}`)
        }
        assert.strictEqual(yield* bulk(socket, 300, 1000, 20, "60 seconds"), 300)
        yield* settle
        const info = yield* socket.info
        assert.deepStrictEqual([info.txCcid, info.rxCcid], [3, 3])
        const tx = info.tfrcTx!, rx = info.tfrcRx!
        yield* socket.close
        const kernel = parseTfrc(yield* serverConnection(5003, f.peer, before))
        assert.isDefined(kernel.tx, "the kernel's CCID 3 sender state")
        assert.isDefined(kernel.rx, "the kernel's CCID 3 receiver state")
        // No loss on the tap: p is 0 on both sides, in both directions.
        assert.strictEqual(tx.p, 0)
        assert.strictEqual(rx.p, 0)
        assert.strictEqual(kernel.tx!.p, 0)
        assert.strictEqual(kernel.rx!.p, 0)
        // The kernel's sender holds the Receive Rate of our last feedback (in 64ths),
        // and our sender the one of the kernel's last feedback.
        assert.approximately(kernel.tx!.xRecv / 64, rx.xRecv, 1, "X_recv we reported, as the kernel holds it")
        assert.approximately(kernel.rx!.xRecv, tx.xRecv, 1, "X_recv the kernel reported, as we hold it")
        assert.isAbove(rx.xRecv, 0)
        // Both senders measure the same short path (the emulated guest adds
        // milliseconds of scheduling delay, and its clock is not ours).
        const kernelRttMs = kernel.tx!.rtt / 1000
        assert.isAbove(kernelRttMs, 0)
        assert.isBelow(kernelRttMs, 100, `the kernel's RTT ${kernelRttMs} ms`)
        assert.isBelow(tx.rttMs, 100, `our RTT ${tx.rttMs} ms`)
        // t_RTO: ours max(4R, 200 ms); Linux 6.1's is 4R alone (tcp_rto_min is 0 for DCCP sockets).
        assert.strictEqual(tx.rtoMs, Math.max(4 * tx.rttMs, 200))
        assert.strictEqual(kernel.tx!.rto, 4 * kernel.tx!.rtt)
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }
})

describe("CCID 3: Linux's client against our server (raw IP)", () => {
  checkFdLeaks()

  for (const f of families) {
    it.live(`${f.name}: the kernel asks for CCID 3; its tfrc_tx_info holds our last Receive Rate`, () =>
      Effect.gen(function*() {
        const server = yield* Dccp.listen({ address: f.listen(6003), serviceCodes: [42], transport: "raw" })
        let last: Dccp.DccpInfo | undefined
        // Every Receive Rate we reported: the feedback leaves at the end of a
        // receive batch or on its timer, not in step with the echoes, so the
        // figures are sampled while the connection is open (each feedback is an
        // RTT apart, far longer than the sampling interval).
        const reported = new Set<number>()
        const sample = (socket: Dccp.DccpSocket) =>
          Effect.gen(function*() {
            const info = yield* socket.info
            // The kernel's Close may have been handled meanwhile: keep the figures of the open connection.
            if (info.tfrcRx === undefined) return
            last = info
            reported.add(info.tfrcRx.xRecv)
          })
        const serving = yield* Effect.forkChild(server.run((socket) =>
          Effect.gen(function*() {
            yield* Effect.forkScoped(Effect.forever(Effect.andThen(sample(socket), Effect.sleep("1 millis"))))
            while (true) {
              yield* socket.send(yield* socket.recv)
              yield* Effect.yieldNow
              yield* sample(socket)
            }
          }).pipe(Effect.scoped, Effect.ignore)
        ))
        const r = yield* kpeerClient(f.host, 6003, 42, 40, `kernel-ccid3-{n}-${"x".repeat(200)}`, { ccid: 3 })
        assert.strictEqual(r.error, undefined, r.lines.join("\n"))
        assert.strictEqual(r.ok, 40, r.lines.join("\n"))
        assert.match(r.lines.find((l) => l.startsWith("CONNECTED"))!, /tx_ccid=3 rx_ccid=3/)
        const kernel = parseTfrc(r.lines.find((l) => l.startsWith("TFRC")) ?? "")
        assert.isDefined(kernel.tx)
        assert.deepStrictEqual([last!.txCcid, last!.rxCcid], [3, 3])
        const held = kernel.tx!.xRecv / 64
        assert.isTrue([...reported].some((x) => Math.abs(x - held) <= 1), `the kernel holds ${held}; we reported ${[...reported].join(", ")}`)
        assert.strictEqual(kernel.tx!.p, 0)
        yield* Fiber.interrupt(serving)
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }
})

describe("CCID 3 one way, CCID 2 the other", () => {
  checkFdLeaks()

  for (const [port, kernelTx, kernelRx] of [[5007, 2, 3], [5008, 3, 2]] as const) {
    it.live(`our client offering [2, 3] against port ${port} (the kernel sends with CCID ${kernelTx}, receives with CCID ${kernelRx})`, () =>
      Effect.gen(function*() {
        const socket = yield* Dccp.connect({ address: `${GUEST4}:${port}`, serviceCode: 42, transport: "raw", ccid: [2, 3] })
        for (let i = 0; i < 10; i++) {
          yield* socket.send(`mixed-${port}-${i}`)
          assert.strictEqual(decoder.decode(yield* socket.recv), `mixed-${port}-${i}`)
        }
        assert.strictEqual(yield* bulk(socket, 200, 800, 10, "60 seconds"), 200)
        const info = yield* socket.info
        assert.deepStrictEqual([info.txCcid, info.rxCcid], [kernelRx, kernelTx])
        assert.strictEqual(info.tfrcTx !== undefined, kernelRx === 3)
        assert.strictEqual(info.tfrcRx !== undefined, kernelTx === 3)
        yield* socket.close
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }

  for (const spec of ["3/2", "2/3"]) {
    it.live(`the kernel's client sending with CCID ${spec[0]} and receiving with CCID ${spec[2]} against our server`, () =>
      Effect.gen(function*() {
        const server = yield* Dccp.listen({ address: `${HOST4}:6004`, serviceCodes: [42], transport: "raw" })
        let last: Dccp.DccpInfo | undefined
        const serving = yield* Effect.forkChild(server.run((socket) =>
          Effect.gen(function*() {
            while (true) {
              yield* socket.send(yield* socket.recv)
              last = yield* socket.info
            }
          }).pipe(Effect.ignore)
        ))
        const r = yield* kpeerClient(HOST4, 6004, 42, 30, `mixed-{n}-${"y".repeat(300)}`, { ccid: spec })
        assert.strictEqual(r.error, undefined, r.lines.join("\n"))
        assert.strictEqual(r.ok, 30, r.lines.join("\n"))
        const tx = Number(spec[0]), rx = Number(spec[2])
        assert.match(r.lines.find((l) => l.startsWith("CONNECTED"))!, new RegExp(`tx_ccid=${tx} rx_ccid=${rx}`))
        assert.deepStrictEqual([last!.txCcid, last!.rxCcid], [rx, tx])
        yield* Fiber.interrupt(serving)
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }
})

const relayToGuest = udpRelay(6521, 6522)

describe("CCID 3 against Linux through a lossy path", () => {
  checkFdLeaks()

  it.live("5 % loss each way: both receivers measure p, each sender holds the other's Loss Event Rate, the kernel's X_calc is our equation's", () =>
    Effect.gen(function*() {
      yield* relayToGuest
      // Our Relay in front of the DCCP-UDP relay: lossless for the handshake, then 5 % each way.
      const lossy = yield* Relay.make({ target: "127.0.0.1:6521", seed: 13 })
      const setLoss = (loss: number) => {
        for (const link of [lossy.forward, lossy.backward]) link.setConditions(Impairment.conditionsUnsafe({ loss }, link.conditions()))
      }
      const port = (lossy.address as { port: number }).port
      const before = (yield* serverConnections(5003, `${HOST4}:`)).length
      const socket = yield* Dccp.connect({ address: `127.0.0.1:${port}`, dccpPort: 5003, serviceCode: 42, ccid: 3 })
      yield* socket.send("hello")
      assert.strictEqual(decoder.decode(yield* socket.recv), "hello")
      let echoed = 0
      const reader = yield* Effect.forkChild(Effect.forever(Effect.map(socket.recv, () => void echoed++)).pipe(Effect.ignore))
      // A datagram every 5 ms (200 kB/s): below what TFRC allows at this RTT
      // and p, so the application sets the pace, and slow enough for the
      // emulated guest (at 500 datagrams/s it drops some itself).
      const payload = new Uint8Array(1000).fill(0x33)
      setLoss(0.05)
      for (let i = 0; i < 1000; i++) {
        yield* socket.send(payload)
        yield* Effect.sleep("5 millis")
      }
      // Lossless again: the last reports of both sides arrive.
      setLoss(0)
      for (let i = 0; i < 50; i++) {
        yield* socket.send(payload)
        yield* Effect.sleep("5 millis")
      }
      yield* settle
      yield* Fiber.interrupt(reader)
      assert.isAbove(echoed, 850, "about 90 % of the echoes come back")
      const info = yield* socket.info
      const tx = info.tfrcTx!, rx = info.tfrcRx!
      yield* socket.close
      const kernel = parseTfrc(yield* serverConnection(5003, `${HOST4}:`, before))
      // Our receiver saw the kernel's data lost: the kernel's sender holds our
      // Loss Event Rate (1/p rounded up), as millionths.
      assert.isAbove(rx.p, 0)
      assert.strictEqual(kernel.tx!.p, Math.floor(1e6 / lossEventRateValue(rx.p)))
      // The kernel's receiver saw ours lost: we hold the Loss Event Rate it last
      // reported. Its tfrc_rx_info shows its p now, which may have fallen since:
      // Linux recomputes p as loss-free data lengthens the open interval but
      // reports a fall only with its next periodic feedback, and after the last
      // data packet there is none (a rise it reports at once).
      assert.isAbove(tx.p, 0)
      assert.isAtMost(kernel.rx!.p, 1e6 * tx.p + 1)
      assert.isAtLeast(kernel.rx!.p, 0.9 * 1e6 * tx.p, `the kernel's p ${kernel.rx!.p} against ours ${1e6 * tx.p}`)
      // Linux computes X_calc from its lookup table of the same equation: for
      // its own s (1000 B), R and p ours agrees within the table's resolution.
      const equation = throughput(1000, kernel.tx!.rtt / 1000, kernel.tx!.p / 1e6)
      assert.approximately(kernel.tx!.xCalc / equation, 1, 0.05, `kernel X_calc ${kernel.tx!.xCalc} against ${Math.round(equation)}`)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("CCID 3 on the wire, as tshark decodes it", () => {
  it.live("every packet of this file has a Good checksum and no expert info; Loss Event Rate, Receive Rate and Loss Intervals went both ways", () =>
    Effect.gen(function*() {
      yield* Effect.sleep(300)
      yield* Effect.promise(tap.stop)
      const rows = tap.fields([
        "ip.src", "ipv6.src", "dccp.type", "dccp.checksum.status", "_ws.expert.message",
        "dccp.ccid3_loss_event_rate", "dccp.ccid3_receive_rate", "dccp.ccid3_loss_intervals"
      ])
      assert.isAbove(rows.length, 500, `captured ${rows.length} DCCP packets`)
      for (const [src4, src6, type, status, expert] of rows) {
        assert.strictEqual(status, "1", `checksum Good from ${src4 || src6} type ${type}`)
        assert.strictEqual(expert ?? "", "", `no expert info from ${src4 || src6} type ${type}: ${expert}`)
      }
      const from = (host: string, column: number) => rows.filter((r) => (r[0] === host || r[1] === host) && (r[column] ?? "") !== "")
      for (const [host, who] of [[HOST4, "we"], [GUEST4, "the kernel"], [HOST6, "we (IPv6)"], [GUEST6, "the kernel (IPv6)"]] as const) {
        assert.isAbove(from(host, 5).length, 0, `${who} sent Loss Event Rate`)
        assert.isAbove(from(host, 6).length, 0, `${who} sent Receive Rate`)
      }
      // Linux's receiver never sends Loss Intervals (it relies on Send Loss Event Rate); ours does after a loss.
      assert.isAbove(from(HOST4, 7).length, 0, "we sent Loss Intervals")
    }))
})
