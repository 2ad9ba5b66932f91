import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import { readFileSync } from "node:fs"
import * as Fiber from "effect/Fiber"
import { IoError } from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Relay from "../../src/testing/Relay.ts"
import * as D from "../hostile/datagrams.ts"
import { checkFdLeaks } from "../util/fds.ts"

const makeDatagram = D.make
const intact = (b: Uint8Array): boolean => D.check(b) === "whole"
const seqOf = D.seqOf

/** The kernel's count of datagrams dropped by the UDP socket bound to `port` (/proc/net/udp). */
const udpDrops = (port: number): number => {
  const hex = port.toString(16).toUpperCase().padStart(4, "0")
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f[1]?.endsWith(`:${hex}`)) return Number(f[f.length - 1])
  }
  throw new Error(`no UDP socket on port ${port}`)
}

/** Receives through the reactor until `until()` or `quietMs` without traffic. */
const collect = (
  registration: Reactor.Registration,
  socket: UdpSocket.UdpSocket,
  onDatagram: (d: UdpSocket.ReceivedDatagram) => void
) =>
  Effect.forever(
    Effect.map(registration.readIo(() => socket.recvBatch()), (batch) => batch.forEach(onDatagram))
  )

describe("lossy UDP relay (real sockets)", () => {
  checkFdLeaks()

  it.live("forwards everything intact, both directions, with no impairment", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      // The target echoes every datagram back to its sender.
      const server = yield* UdpSocket.bind("127.0.0.1:0")
      const serverRegistration = yield* reactor.register(server)
      yield* Effect.forkScoped(collect(serverRegistration, server, (d) => void server.sendTo(d.payload, d.address)))
      const relay = yield* Relay.make({ target: server.localAddr() as SocketAddress.SocketAddress })
      const client = yield* UdpSocket.bind("127.0.0.1:0")
      const clientRegistration = yield* reactor.register(client)
      const echoed = new Map<number, boolean>()
      const receiver = yield* Effect.forkScoped(collect(clientRegistration, client, (d) => {
        echoed.set(seqOf(d.payload), intact(d.payload))
      }))
      const total = 2000
      for (let seq = 0; seq < total; seq += 50) {
        const batch = Array.from({ length: 50 }, (_, i) => ({ payload: makeDatagram(seq + i, 64 + ((seq + i) % 1100)), address: relay.address }))
        yield* client.sendBatch(batch) === 50 ? Effect.void : Effect.fail(new Error("send would block"))
        while (echoed.size < seq + 50) yield* Effect.sleep(1)
      }
      yield* Fiber.interrupt(receiver)
      assert.strictEqual(echoed.size, total)
      assert.isTrue([...echoed.values()].every((ok) => ok), "every echoed datagram is intact")
      const stats = relay.stats()
      assert.strictEqual(stats.forward.delivered, total)
      assert.strictEqual(stats.backward.delivered, total)
      assert.strictEqual(stats.clients, 1)
      assert.strictEqual(stats.sendFailures, 0)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("an invalid resolution is refused with a typed error", () =>
    Effect.gen(function*() {
      for (const resolutionMs of [-1, Number.NaN]) {
        const exit = yield* Effect.exit(Relay.make({ target: "127.0.0.1:9", resolutionMs }))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.include(String(Cause.squash(exit.cause)), "resolutionMs")
      }
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("measured loss, duplication and reordering match the configuration", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      // A receive buffer deep enough for a burst delivered late by a busy event loop:
      // the test compares what the server got with what the relay delivered, exactly.
      const server = yield* UdpSocket.bind("127.0.0.1:0", { recvBufferSize: 1024 * 1024 })
      const serverRegistration = yield* reactor.register(server)
      const arrivals: Array<number> = []
      yield* Effect.forkScoped(collect(serverRegistration, server, (d) => {
        if (intact(d.payload)) arrivals.push(seqOf(d.payload))
      }))
      const loss = 0.1, duplicate = 0.05, reorder = 0.05
      const relay = yield* Relay.make({
        target: server.localAddr() as SocketAddress.SocketAddress,
        seed: 42,
        conditions: { loss, duplicate, reorder, latency: 1, reorderDelay: 3 }
      })
      const client = yield* UdpSocket.bind("127.0.0.1:0")
      const total = 10_000
      for (let seq = 0; seq < total; seq += 100) {
        const batch = Array.from({ length: 100 }, (_, i) => ({ payload: makeDatagram(seq + i, 100), address: relay.address }))
        const sent = client.sendBatch(batch)
        if (sent instanceof IoError || sent !== 100) return yield* Effect.fail(new Error(`sent ${String(sent)}`))
        yield* Effect.sleep(2)
      }
      // Everything in flight arrives within latency + reorder delay.
      while (relay.stats().inFlight > 0) yield* Effect.sleep(5)
      yield* Effect.sleep(20)
      const stats = relay.stats().forward
      // The relay delivered what its link decided, and the server got exactly that,
      // less what its socket buffer dropped (the kernel counts those; a busy event
      // loop can deliver a burst late).
      assert.strictEqual(stats.sent, total)
      const serverPort = (server.localAddr() as { readonly port: number }).port
      const kernelDrops = udpDrops(serverPort)
      assert.strictEqual(arrivals.length + kernelDrops, stats.delivered)
      const unique = new Set(arrivals).size
      // Datagrams the server's socket dropped (a busy machine) were delivered by the
      // relay but are not in `arrivals`: each may have been a first copy or a
      // duplicate, so the measured rates lie in an interval that widens with them.
      const lossHigh = 1 - unique / total, lossLow = 1 - (unique + kernelDrops) / total
      const duplicatesHigh = (arrivals.length + kernelDrops - unique) / unique
      const duplicatesLow = (arrivals.length - unique) / (unique + kernelDrops)
      // RFC 4737: a packet is reordered when it arrives after a higher sequence
      // number; second copies of duplicates are not counted.
      const seen = new Set<number>()
      let highest = -1, reordered = 0
      for (const seq of arrivals) {
        if (seen.has(seq)) continue
        seen.add(seq)
        if (seq < highest) reordered++
        else highest = seq
      }
      const measuredReorder = reordered / unique
      // Binomial tolerances: 10 000 packets give σ ≈ 0.3 % at 10 %, ≈ 0.22 % at 5 %.
      const within = (low: number, high: number, expected: number, tolerance: number, what: string) =>
        assert.isTrue(low <= expected + tolerance && high >= expected - tolerance, `${what} in [${low}, ${high}] (server socket drops: ${kernelDrops})`)
      within(lossLow, lossHigh, loss, 0.015, "loss")
      within(duplicatesLow, duplicatesHigh, duplicate, 0.012, "duplicates")
      assert.approximately(measuredReorder, reorder, 0.02, `reorder ${measuredReorder}`)
      assert.strictEqual(relay.stats().sendFailures, 0)
    }).pipe(Effect.provide(Reactor.layer)))
})

describe("lossy UDP relay: bounded state (issue 8)", () => {
  checkFdLeaks()

  it.live("clients past maxClients evict the least recently active one's upstream socket; replies still reach current clients", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      const server = yield* UdpSocket.bind("127.0.0.1:0")
      const serverRegistration = yield* reactor.register(server)
      yield* Effect.forkScoped(collect(serverRegistration, server, (d) => void server.sendTo(d.payload, d.address)))
      const relay = yield* Relay.make({ target: server.localAddr() as SocketAddress.SocketAddress, maxClients: 4 })
      const to = SocketAddress.format(relay.address)
      for (let i = 0; i < 10; i++) {
        const client = yield* UdpSocket.bind("127.0.0.1:0")
        const registration = yield* reactor.register(client)
        assert.strictEqual(client.sendTo(makeDatagram(i, 64), to), 64)
        const reply = yield* registration.readIo(() => client.recvBatch())
        assert.strictEqual(seqOf(reply[0]!.payload), i, `client ${i} got its echo`)
      }
      const stats = relay.stats()
      assert.strictEqual(stats.clients, 4)
      assert.strictEqual(stats.evictedClients, 6)
      const bad = yield* Effect.exit(Relay.make({ target: "127.0.0.1:9", maxClients: 0 }))
      assert.isTrue(Exit.isFailure(bad))
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
