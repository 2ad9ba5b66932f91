/**
 * Every datagram path through a bad network — 20 % loss, 10 % duplication,
 * 10 % reordering — with self-checking datagrams of many sizes:
 *
 * - DCCP-UDP (our client and server) through the lossy `Relay` on real
 *   sockets, datagrams up to 5,000 bytes (`pathMtu: 9000`): never a duplicate,
 *   never a cut or corrupt datagram;
 * - Effect's `DatagramSocket` on our UDP (`Udp.make`) through the relay,
 *   datagrams up to 60,000 bytes: never cut or corrupt; duplicates only those
 *   the relay made (UDP does not suppress them);
 * - `MemoryDatagram` on `SimNet` (virtual time): the same, for the test kit.
 *
 * Used by test/hostile/lossy-datagrams.test.ts and `npm run soak`.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as NetAddress from "effect/net/NetAddress"
import * as Dccp from "../../../src/dccp/Dccp.ts"
import * as SocketAddress from "../../../src/net/SocketAddress.ts"
import type { Reactor } from "../../../src/reactor/Reactor.ts"
import * as UdpSocket from "../../../src/net/UdpSocket.ts"
import * as Udp from "../../../src/socket/Udp.ts"
import * as MemoryDatagram from "../../../src/testing/MemoryDatagram.ts"
import * as Relay from "../../../src/testing/Relay.ts"
import * as SimNet from "../../../src/testing/SimNet.ts"
import * as D from "../datagrams.ts"

export const badNetwork = { loss: 0.2, duplicate: 0.1, reorder: 0.1, latency: "1 millis", reorderDelay: "3 millis" } as const

export interface PathFigures {
  readonly path: string
  readonly sent: number
  readonly whole: number
  readonly duplicates: number
  readonly cut: number
  readonly corrupt: number
  readonly unknown: number
  /**
   * Datagrams from sources other than the path's (another process's traffic to
   * a port this test took; `D.SourcedTally`): counted, not judged. 0 where the
   * receiver sees only its peer.
   */
  readonly foreign: number
  /** Duplicates the network made on the way (the relay's or SimNet's count). */
  readonly networkDuplicated: number
  readonly elapsedMs: number
}

const figures = (path: string, t: D.Tally, networkDuplicated: number, start: number, foreign = 0): PathFigures => ({
  path,
  sent: t.sent,
  whole: t.whole,
  duplicates: t.duplicates,
  cut: t.cut,
  corrupt: t.corrupt,
  unknown: t.unknown,
  foreign,
  networkDuplicated,
  elapsedMs: performance.now() - start
})

/**
 * Waits until `done()` or until `quietMs` pass with no new datagram — counted
 * in 5 ms turns of this fiber as well as in wall time, so a process starved
 * for longer than `quietMs` (a loaded CI machine) still gives the receiving
 * fibers their turns to drain what arrived meanwhile before it gives up.
 */
const settle = (progress: () => number, done: () => boolean, quietMs: number) =>
  Effect.gen(function*() {
    const quietTurns = Math.ceil(quietMs / 5)
    let last = progress(), since = performance.now(), idleTurns = 0
    while (!done()) {
      yield* Effect.sleep(5)
      const now = progress()
      if (now !== last) {
        last = now
        since = performance.now()
        idleTurns = 0
      } else if (++idleTurns >= quietTurns && performance.now() - since > quietMs) return
    }
  })

/** DCCP-UDP client → relay → server; the server tallies what it receives. */
export const dccpThroughRelay = (count: number, seed = 1): Effect.Effect<PathFigures, unknown, Reactor> =>
  Effect.scoped(Effect.gen(function*() {
    const start = performance.now()
    const tally = new D.Tally(count)
    const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], pathMtu: 9000, receiveQueue: 4096 })
    const receiving = yield* Effect.forkScoped(server.run((socket) =>
      Effect.forever(Effect.map(socket.recv, (d) => tally.add(d))).pipe(Effect.ignore)
    ))
    const relay = yield* Relay.make({ target: server.address, seed, conditions: badNetwork })
    const client = yield* Dccp.connect({
      address: SocketAddress.format(relay.address),
      dccpPort: server.port,
      serviceCode: 42,
      pathMtu: 9000,
      connectTimeout: "20 seconds"
    })
    for (let seq = 0; seq < count; seq++) yield* client.send(D.make(seq, D.sizeOf(seq, 12, 5000)))
    yield* settle(() => tally.whole + tally.duplicates, () => false, 300)
    yield* Fiber.interrupt(receiving)
    return figures("DCCP-UDP via Relay", tally, relay.stats().forward.duplicated, start)
  }))

/**
 * Datagrams like one another process on this machine sent to a loopback port
 * after its peer closed and this test's socket took the port (73 bytes, as
 * seen in a full `npm test` run).
 */
const strayDatagram = (i: number): Uint8Array => {
  const b = new Uint8Array(73)
  for (let j = 0; j < b.length; j++) b[j] = (i * 131 + j * 29 + 0xe3) & 0xff
  return b
}

/**
 * Effect's DatagramSocket on our UDP: sender → relay → receiver. With
 * `strays`, another socket sends that many unrelated datagrams to the receiver
 * and as many to the relay, half-way through (what another process's late
 * traffic to a reused port looks like).
 */
export const udpThroughRelay = (count: number, seed = 2, strays = 0): Effect.Effect<PathFigures, unknown, Reactor> =>
  Effect.scoped(Effect.gen(function*() {
    const start = performance.now()
    const tally = new D.SourcedTally(count)
    const receiver = yield* Udp.make({ bind: "127.0.0.1:0", kernelReceiveBufferSize: 8 << 20, receiveBuffer: { capacity: 8192 } })
    const reader = yield* receiver.reader
    yield* Effect.forkScoped(Effect.forever(Effect.map(reader.pull, (ds) => {
      for (const d of ds) tally.add(NetAddress.formatInet(d.address), d.payload)
    })))
    const relay = yield* Relay.make({ target: `127.0.0.1:${reader.address.port}`, seed, conditions: badNetwork })
    const sender = yield* Udp.make({ bind: "127.0.0.1:0", kernelSendBufferSize: 8 << 20 })
    yield* sender.reader
    const writer = yield* sender.writer
    const to = NetAddress.inetAddressFromStringUnsafe(SocketAddress.format(relay.address))
    for (let seq = 0; seq < count; seq++) {
      if (strays > 0 && seq === count >> 1) yield* sendStrays(strays, [reader.address.port, relayPort(relay)])
      yield* writer.write({ payload: D.make(seq, D.sizeOf(seq, 12, 60000)), address: to })
      // Paced (~15 MB/s): what is measured is the path's faults, not socket buffer overflow.
      if (seq % 2 === 1) yield* Effect.sleep(4)
    }
    const duplicated = () => relay.stats().forward.duplicated
    yield* settle(() => tally.arrived(), () => false, 200)
    return figures("UDP DatagramSocket via Relay", tally.path(), duplicated(), start, tally.foreign())
  }))

const relayPort = (relay: Relay.Relay): number => SocketAddress.isInet(relay.address) ? relay.address.port : 0

/** `n` stray datagrams to each of `ports` on 127.0.0.1, from a socket of their own. */
const sendStrays = (n: number, ports: ReadonlyArray<number>) =>
  Effect.scoped(Effect.gen(function*() {
    const stranger = yield* UdpSocket.bind("127.0.0.1:0")
    for (let i = 0; i < n; i++) {
      for (const port of ports) {
        const r = stranger.sendTo(strayDatagram(i), `127.0.0.1:${port}`)
        if (typeof r !== "number") return yield* Effect.fail(r)
      }
    }
  }))

/** MemoryDatagram sockets on a SimNet with the same faults (virtual time). */
export const memoryOnSimNet = (count: number, seed = 3): Effect.Effect<PathFigures, unknown> =>
  Effect.scoped(Effect.gen(function*() {
    const start = performance.now()
    const tally = new D.Tally(count)
    const net = yield* SimNet.make({ seed, ...badNetwork, mtu: 65535 })
    const run = Effect.gen(function*() {
      const receiver = yield* MemoryDatagram.make({ host: "b", port: 9, receiveBuffer: { capacity: count } })
      const reader = yield* receiver.reader
      yield* Effect.forkScoped(Effect.forever(Effect.map(reader.pull, (ds) => {
        for (const d of ds) tally.add(d.payload)
      })))
      const sender = yield* MemoryDatagram.make({ host: "a", connect: "b:9" })
      yield* sender.reader
      const writer = yield* sender.writer
      for (let seq = 0; seq < count; seq++) yield* writer.write({ payload: D.make(seq, D.sizeOf(seq, 12, 60000)) })
      yield* net.drive()
      // The reader fiber takes what was delivered on its own turns: let it finish.
      for (let idle = 0, last = -1; idle < 10; idle++) {
        const now = tally.whole + tally.duplicates
        if (now !== last) idle = 0
        last = now
        yield* Effect.yieldNow
      }
    })
    yield* run.pipe(Effect.provideService(SimNet.SimNet, net))
    const report = yield* net.report()
    const duplicated = [...report.matchAll(/duplicated (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0)
    return figures("MemoryDatagram on SimNet", tally, duplicated, start)
  }))
