/**
 * Datagram sizes over real sockets on loopback: a large configured `mtu`
 * connects in one round trip; path MTU discovery settles at the default bound
 * (8,952: the receive slots and `maxMtu`) on loopback, and at the relay's
 * limit through the lossy `Relay` with an `mtu` condition, losing nothing; an
 * `mtu` larger than the socket receives is a typed error. Every test checks
 * for leaked file descriptors.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { IoError } from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as UdpLike from "../../src/rudp/UdpLike.ts"
import * as Relay from "../../src/testing/Relay.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { numbered, numberOf } from "./harness.ts"

/** Sends `n` numbered Delivery messages of `size` bytes from `a` and checks `b` gets exactly them, in order. */
const transfer = (a: Endpoint.Endpoint, b: Endpoint.Endpoint, n: number, size = 100) =>
  Effect.gen(function*() {
    const send = Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => a.sendPayload(Guarantee.Delivery, numbered(i, size)), { discard: true })
    const receive = b.messages.pipe(Stream.map(numberOf), Stream.take(n), Stream.runCollect)
    const [, got] = yield* Effect.all([send, receive], { concurrency: 2 })
    assert.deepStrictEqual(got, Array.from({ length: n }, (_, i) => i))
  })

/** Transfers batches until `a`'s discovery has settled (at most `rounds` batches). */
const untilSettled = (a: Endpoint.Endpoint, b: Endpoint.Endpoint, rounds = 200) =>
  Effect.gen(function*() {
    for (let i = 0; i < rounds; i++) {
      if ((yield* a.stats).pmtu.phase === "done") break
      yield* transfer(a, b, 500)
    }
    return yield* a.stats
  })

describe("datagram sizes on loopback", () => {
  checkFdLeaks()

  it.live("the route's limit: IP_MTU of a connected socket less the IPv4 and UDP headers; Don't Fragment set", () =>
    Effect.gen(function*() {
      const server = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
      assert.isUndefined(server[UdpLike.FastPathId].pathLimit(), "not connected yet: no route to ask")
      const client = yield* UdpLike.connect({ peer: SocketAddress.format(server.localAddress) })
      const mtu = client.socket.pathMtu()
      assert.isNumber(mtu)
      assert.isAtLeast(mtu as number, 1500, "loopback's MTU")
      assert.strictEqual(client[UdpLike.FastPathId].pathLimit(), (mtu as number) - 28)
      assert.strictEqual(client[UdpLike.FastPathId].maxDatagram, UdpLike.DEFAULT_MAX_DATAGRAM)
      const unconnected = yield* UdpSocket.bind("127.0.0.1:0")
      const e = unconnected.pathMtu()
      assert.instanceOf(e, IoError)
      assert.strictEqual((e as IoError).kind, "NotConnected")
      assert.isUndefined(unconnected.setPathMtuDiscovery("do"))
      assert.strictEqual(unconnected.setPathMtuDiscovery("sometimes" as "do")?.kind, "InvalidInput")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("mtu 8192 on both ends (UdpLike.listen maxDatagram 8192): connected without a retransmitted Initial", () =>
    Effect.gen(function*() {
      const server = yield* UdpLike.listen({ bind: "127.0.0.1:0", maxDatagram: 8192 })
      const b = yield* Endpoint.make(server, { drive: "reactor", role: "server", mtu: 8192 })
      const a = yield* Endpoint.connect({ peer: SocketAddress.format(server.localAddress), config: { drive: "reactor", mtu: 8192 } })
      yield* a.connected
      const s = yield* a.stats
      assert.strictEqual(s.stats.ptoCount, 0, "the server answered the first Initial")
      assert.strictEqual(s.mtu, 8192)
      yield* transfer(a, b, 2000)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("default configuration: discovery settles at 8,952 bytes (the receive slots and maxMtu), 100 B messages share those datagrams", () =>
    Effect.gen(function*() {
      const server = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
      const b = yield* Endpoint.make(server, { drive: "reactor", role: "server" })
      const a = yield* Endpoint.connect({ peer: SocketAddress.format(server.localAddress), config: { drive: "reactor" } })
      const s = yield* untilSettled(a, b)
      assert.strictEqual(s.pmtu.phase, "done")
      assert.strictEqual(s.pmtu.limit, UdpLike.DEFAULT_MAX_DATAGRAM)
      assert.strictEqual(s.mtu, UdpLike.DEFAULT_MAX_DATAGRAM)
      assert.strictEqual(s.stats.mtuProbesLost, 0, "loopback takes the common size, then the bound, at once")
      const before = s.stats.datagramsSent
      yield* transfer(a, b, 10_000)
      const after = yield* a.stats
      assert.isBelow(after.stats.datagramsSent - before, 10_000 / 20, "dozens of messages per datagram")
      assert.strictEqual(after.transport.truncated, 0)
      assert.strictEqual((yield* b.stats).transport.truncated, 0, "no datagram was larger than the receiver's slots")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 30_000)

  it.live("through the Relay with an Ethernet-size path (mtu 1,472): settles at the relay's limit, nothing lost", () =>
    Effect.gen(function*() {
      const server = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
      const relay = yield* Relay.make({ target: server.localAddress, seed: 5, conditions: { latency: 1, mtu: 1472 } })
      const b = yield* Endpoint.make(server, { drive: "reactor", role: "server", initialRtt: 10 })
      const a = yield* Endpoint.connect({ peer: SocketAddress.format(relay.address), config: { drive: "reactor", initialRtt: 10 } })
      const s = yield* untilSettled(a, b)
      assert.strictEqual(s.pmtu.phase, "done")
      assert.isAtMost(s.mtu, 1472)
      assert.isAbove(s.mtu, 1472 - 16, `settled at ${s.mtu}`)
      yield* transfer(a, b, 3000)
      yield* transfer(a, b, 20, 20_000)
      const end = yield* a.stats
      const relayed = relay.stats()
      // Every datagram the path dropped was a probe too large for it, counted as such: no data packet was.
      assert.deepStrictEqual(Object.keys(relayed.forward.dropped), ["mtu"])
      assert.isAbove(relayed.forward.dropped["mtu"]!, 0)
      assert.isAtMost(relayed.forward.dropped["mtu"]!, end.stats.mtuProbesLost)
      assert.strictEqual(end.transport.truncated + (yield* b.stats).transport.truncated, 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 60_000)

  it.live("a datagram the socket refuses as too large is the only one lost of its batch: the ones behind it still go", () =>
    Effect.gen(function*() {
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const sent = [new Uint8Array(100).fill(1), new Uint8Array(70_000), new Uint8Array(100).fill(2), new Uint8Array(100).fill(3)]
      assert.isUndefined(ua[UdpLike.FastPathId].sendMany(sent, sent.length))
      assert.strictEqual(ua[UdpLike.FastPathId].stats().sendDropped, 1, "only the oversize datagram")
      const got: Array<number> = []
      for (let tries = 0; got.length < 3 && tries < 100; tries++) {
        const n = ub[UdpLike.FastPathId].recvMany((bytes) => void got.push(bytes[0]!))
        assert.isNumber(n)
        if (got.length < 3) yield* Effect.sleep(5)
      }
      assert.deepStrictEqual(got, [1, 2, 3])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("an mtu larger than the route carries is InvalidConfig, naming mtu and the route's limit (Don't Fragment would refuse every base datagram)", () =>
    Effect.gen(function*() {
      const client = yield* UdpLike.connect({ peer: "127.0.0.1:9" })
      // Loopback's route carries 65,507 bytes: the socket, as on an Ethernet route of 1,500 (checked by hand in a
      // network namespace whose loopback has mtu 1500), reports 1,472 bytes of UDP payload.
      const fast = client[UdpLike.FastPathId]
      const ethernet: UdpLike.FastUdpLike<IoError> = { ...client, [UdpLike.FastPathId]: { ...fast, pathLimit: () => 1472 } }
      const e = yield* Effect.flip(Endpoint.make(ethernet, { drive: "reactor", mtu: 2000 }))
      assert.strictEqual(e.kind, "InvalidConfig")
      assert.include(e.detail, "mtu 2000")
      assert.include(e.detail, "1472")
      yield* Endpoint.make(ethernet, { drive: "reactor", mtu: 1472 })
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("an mtu larger than the socket receives whole is InvalidConfig, naming mtu; maxMtu comes down to it", () =>
    Effect.gen(function*() {
      const server = yield* UdpLike.listen({ bind: "127.0.0.1:0", maxDatagram: 2048 })
      const e = yield* Effect.flip(Endpoint.make(server, { drive: "reactor", role: "server", mtu: 4096 }))
      assert.strictEqual(e.kind, "InvalidConfig")
      assert.include(e.detail, "mtu 4096")
      assert.include(e.detail, "2048")
      // maxMtu comes down to the socket's slots instead: what the endpoint announces, it receives.
      const b = yield* Endpoint.make(server, { drive: "reactor", role: "server", maxMtu: 16_384 })
      const a = yield* Endpoint.connect({ peer: SocketAddress.format(server.localAddress), config: { drive: "reactor", maxMtu: 16_384 } })
      const s = yield* untilSettled(a, b)
      assert.strictEqual(s.pmtu.limit, 2048, "the server announced what its socket receives")
      assert.strictEqual(s.mtu, 2048)
      yield* transfer(a, b, 2000)
      assert.strictEqual((yield* b.stats).transport.truncated, 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
