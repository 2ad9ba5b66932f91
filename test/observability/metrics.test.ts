/**
 * effect-mio's metrics (docs/observability.md) over real sockets on loopback:
 * each series counts what it says, in the registry (and with the contextual
 * attributes) of the fiber that made the resource; counters keep what ended
 * resources counted; gauges follow the resources' lives; drops and refusals
 * are counted by reason.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as NetAddress from "effect/net/NetAddress"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as dgram from "node:dgram"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Dccp from "../../src/dccp/Dccp.ts"
import * as Metrics from "../../src/Metrics.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as UdpLike from "../../src/rudp/UdpLike.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Udp from "../../src/socket/Udp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import * as Relay from "../../src/testing/Relay.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** Runs `program` with a registry of its own and the default reactor. */
const inRegistry = <A, E>(program: Effect.Effect<A, E, Reactor.Reactor | Scope.Scope>) =>
  program.pipe(Effect.scoped, Effect.provide(Reactor.layer), Effect.provideService(Metric.MetricRegistry, new Map()))

/** The value of a series now: a counter's count or a gauge's value (undefined when it does not exist). */
const value = (id: string, attributes: Record<string, string>) =>
  Effect.map(Metric.snapshot, (snapshot) => {
    const s = snapshot.find((m) => m.id === id && Object.entries(attributes).every(([k, v]) => m.attributes?.[k] === v))
    return s === undefined ? undefined : s.type === "Counter" ? Number(s.state.count) : s.type === "Gauge" ? Number(s.state.value) : Number.NaN
  })

/** Waits (bounded) until the series has the value: handlers and closes finish on their own fibers. */
const eventually = (id: string, attributes: Record<string, string>, expected: number) =>
  Effect.flatMap(value(id, attributes), (v) => (v === expected ? Effect.void : Effect.fail(`${id} ${JSON.stringify(attributes)}: ${v}, not ${expected}`))).pipe(
    Effect.retry(Schedule.spaced("5 millis")),
    Effect.timeout("5 seconds")
  )

/** A TCP echo server of ours; its port. */
const echoServer = (listen: Effect.Effect<import("effect/socket/SocketServer").SocketServer["Service"], unknown, Reactor.Reactor | Scope.Scope>) =>
  Effect.gen(function*() {
    const server = yield* Effect.orDie(listen)
    yield* Effect.forkScoped(server.run((socket) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        while (true) yield* writer.writeAll(yield* reader.pull)
      })).pipe(Effect.ignore)
    ))
    return server
  })

/** Sends `text` and reads back as many bytes. */
const echo = (socket: import("effect/socket/Socket").Socket, text: string) =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* writer.write(text)
    let got = 0
    while (got < text.length) for (const c of yield* reader.pull) got += c.length
  }))

/** A port nothing listens on (bound, then released). */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
)

describe("metrics", () => {
  checkFdLeaks()

  it.live("TCP: bytes both ways on both sides, connections dialled and accepted, open gauges back to 0, refused dials", () =>
    inRegistry(Effect.gen(function*() {
      const server = yield* echoServer(Tcp.listen("127.0.0.1:0"))
      const { port } = server.address as NetAddress.InetAddress
      // Two connections in turn: the counters add up over both.
      for (const text of ["abcdefghij", "0123456789abcdefghij"]) yield* echo(yield* Tcp.connect(`127.0.0.1:${port}`), text)
      yield* eventually("effect_mio_connections_open", { transport: "tcp", side: "accept" }, 0)
      assert.strictEqual(yield* value("effect_mio_connections_open", { transport: "tcp", side: "connect" }), 0)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "tcp", side: "connect" }), 2)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "tcp", side: "accept" }), 2)
      // 30 bytes each way through each side: 60 received and 60 sent in all.
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "tcp", direction: "recv" }), 60)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "tcp", direction: "sent" }), 60)

      assert.strictEqual(yield* value("effect_mio_connections_refused_total", { transport: "tcp", side: "connect", reason: "no_listener" }), 0)
      const refused = yield* Effect.exit(echo(yield* Tcp.connect(`127.0.0.1:${yield* closedPort}`), "x"))
      assert.isTrue(refused._tag === "Failure")
      assert.strictEqual(yield* value("effect_mio_connections_refused_total", { transport: "tcp", side: "connect", reason: "no_listener" }), 1)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "tcp", side: "connect" }), 2)
    })))

  it.live("TCP: the open gauges count live connections, a node:net client's included", () =>
    inRegistry(Effect.gen(function*() {
      const server = yield* echoServer(Tcp.listen("127.0.0.1:0"))
      const { port } = server.address as NetAddress.InetAddress
      const clients = yield* Effect.acquireRelease(
        Effect.promise(() =>
          Promise.all([1, 2, 3].map(() =>
            new Promise<net.Socket>((resolve) => {
              const c = net.connect(port, "127.0.0.1", () => resolve(c))
            })
          ))
        ),
        (cs) => Effect.sync(() => cs.forEach((c) => c.destroy()))
      )
      yield* eventually("effect_mio_connections_open", { transport: "tcp", side: "accept" }, 3)
      clients[0]!.destroy()
      yield* eventually("effect_mio_connections_open", { transport: "tcp", side: "accept" }, 2)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "tcp", side: "accept" }), 3)
    })))

  it.live("Unix: bytes and connections dialled and accepted", () =>
    inRegistry(Effect.gen(function*() {
      const path = join(tmpdir(), `effect-mio-metrics-${process.pid}.sock`)
      yield* echoServer(Unix.listen(path))
      yield* echo(yield* Unix.connect(path), "hello, unix")
      yield* eventually("effect_mio_connections_open", { transport: "unix", side: "accept" }, 0)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "unix", direction: "recv" }), 22)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "unix", direction: "sent" }), 22)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "unix", side: "connect" }), 1)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "unix", side: "accept" }), 1)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "tcp", direction: "recv" }), undefined, "no TCP resource, no TCP series")
    })))

  it.live("UDP: datagrams and bytes; oversize datagrams and receive-buffer overflow counted as drops by reason", () =>
    inRegistry(Effect.gen(function*() {
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", maxDatagramSize: 100, receiveBuffer: { capacity: 2 } })
      const reader = yield* socket.reader
      assert.strictEqual(yield* value("effect_mio_sockets_open", { transport: "udp" }), 1)
      const sender = yield* Effect.acquireRelease(Effect.sync(() => dgram.createSocket("udp4")), (s) => Effect.sync(() => s.close()))
      const send = (size: number) =>
        Effect.promise(() => new Promise<void>((resolve) => sender.send(new Uint8Array(size), reader.address.port, "127.0.0.1", () => resolve())))
      yield* send(500) // over maxDatagramSize: dropped whole
      for (let i = 0; i < 5; i++) yield* send(10) // 2 fit the receive buffer, 3 overflow it
      yield* eventually("effect_mio_drops_total", { transport: "udp", reason: "oversize" }, 1)
      yield* eventually("effect_mio_drops_total", { transport: "udp", reason: "receive_buffer" }, 3)
      assert.strictEqual(socket.stats().droppedOversize, 1)
      assert.strictEqual(reader.dropped(), 3)
      // What the socket took from the kernel, the dropped ones included.
      assert.strictEqual(yield* value("effect_mio_datagrams_total", { transport: "udp", direction: "recv" }), 6)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "udp", direction: "recv" }), 550)
      const writer = yield* socket.writer
      yield* writer.writeAll([
        { payload: new Uint8Array(7), address: reader.address },
        { payload: new Uint8Array(8), address: reader.address }
      ])
      assert.strictEqual(yield* value("effect_mio_datagrams_total", { transport: "udp", direction: "sent" }), 2)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "udp", direction: "sent" }), 15)
    })))

  it.live("a series counts in the registry and with the attributes of the fiber that made the resource", () =>
    Effect.gen(function*() {
      const a: Metric.MetricRegistry = new Map()
      const b: Metric.MetricRegistry = new Map()
      const exchange = Effect.scoped(Effect.gen(function*() {
        const server = yield* echoServer(Tcp.listen("127.0.0.1:0"))
        yield* echo(yield* Tcp.connect(`127.0.0.1:${(server.address as NetAddress.InetAddress).port}`), "12345")
        yield* eventually("effect_mio_connections_open", { transport: "tcp", side: "accept" }, 0)
      })).pipe(Effect.provide(Reactor.layer))
      yield* exchange.pipe(Effect.provideService(Metric.MetricRegistry, a), Effect.provideService(Metric.CurrentMetricAttributes, { service: "one" }))
      yield* exchange.pipe(Effect.provideService(Metric.MetricRegistry, a), Effect.provideService(Metric.CurrentMetricAttributes, { service: "two" }))
      yield* exchange.pipe(Effect.provideService(Metric.MetricRegistry, a), Effect.provideService(Metric.CurrentMetricAttributes, { service: "two" }))
      const bytes = (registry: Metric.MetricRegistry, service: string) =>
        value("effect_mio_bytes_total", { transport: "tcp", direction: "recv", service }).pipe(Effect.provideService(Metric.MetricRegistry, registry))
      assert.strictEqual(yield* bytes(a, "one"), 10)
      assert.strictEqual(yield* bytes(a, "two"), 20, "two servers' worth, the first of which ended: counters keep what ended resources counted")
      assert.strictEqual(yield* bytes(b, "one"), undefined)
      // Effect's own reader finds the same series.
      const viaValue = yield* Metric.value(Metric.withAttributes(Metrics.bytesTotal, { transport: "tcp", direction: "sent" })).pipe(
        Effect.provideService(Metric.MetricRegistry, a),
        Effect.provideService(Metric.CurrentMetricAttributes, { service: "two" })
      )
      assert.strictEqual(viaValue.count, 20)
    }))

  it.live("DCCP: connections, refusals by reason on both sides, a full backlog's refusals, per-connection gauges that go with the connection", () =>
    inRegistry(Effect.gen(function*() {
      const listener = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], backlog: 1 })
      const target = `127.0.0.1:${listener.port}`
      assert.strictEqual(yield* value("effect_mio_sockets_open", { transport: "dccp" }), 1)

      const bad = yield* Effect.exit(Effect.scoped(Dccp.connect({ address: target, serviceCode: 7 })))
      assert.isTrue(bad._tag === "Failure")
      assert.strictEqual(yield* value("effect_mio_connections_refused_total", { transport: "dccp", side: "connect", reason: "bad_service_code" }), 1)
      assert.strictEqual(yield* value("effect_mio_connections_refused_total", { transport: "dccp", side: "accept", reason: "bad_service_code" }), 1)

      const noPort = yield* Effect.exit(Effect.scoped(Dccp.connect({ address: target, dccpPort: listener.port === 65535 ? 1 : listener.port + 1, serviceCode: 42 })))
      assert.isTrue(noPort._tag === "Failure")
      assert.strictEqual(yield* value("effect_mio_connections_refused_total", { transport: "dccp", side: "connect", reason: "no_listener" }), 1)

      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Dccp.connect({ address: target, serviceCode: 42 })
        const server = yield* listener.accept
        yield* client.send("ping")
        assert.strictEqual(new TextDecoder().decode(yield* server.recv), "ping")
        const local = (a: unknown) => `127.0.0.1:${(a as NetAddress.InetAddress).port}`
        const attributes = { side: "connect", local: local(client.localAddress), peer: target }
        assert.isAbove((yield* value("effect_mio_dccp_rtt_seconds", attributes))!, 0)
        assert.isAtLeast((yield* value("effect_mio_dccp_cwnd_packets", attributes))!, 1)
        assert.isDefined(yield* value("effect_mio_dccp_rtt_seconds", { side: "accept", peer: local(client.localAddress) }))
        assert.strictEqual(yield* value("effect_mio_connections_open", { transport: "dccp", side: "connect" }), 1)
        assert.strictEqual(yield* value("effect_mio_connections_open", { transport: "dccp", side: "accept" }), 1)
        yield* client.close
      }))
      assert.strictEqual(yield* value("effect_mio_dccp_rtt_seconds", { side: "connect" }), undefined)
      assert.strictEqual(yield* value("effect_mio_dccp_rtt_seconds", { side: "accept" }), undefined)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "dccp", side: "connect" }), 1)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "dccp", direction: "sent" }), 4)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "dccp", direction: "recv" }), 4)

      // Nobody accepts: the backlog holds 1, the next handshakes completed by the engine are aborted.
      yield* Effect.forEach([1, 2, 3], () => Effect.exit(Effect.scoped(Dccp.connect({ address: target, serviceCode: 42, connectTimeout: "2 seconds" }))), {
        concurrency: "unbounded"
      })
      yield* eventually("effect_mio_connections_refused_total", { transport: "dccp", side: "accept", reason: "backlog" }, 2)
    })), 30_000)

  it.live("DCCP over CCID 3: the connections count like CCID 2's; each has its RTT gauge and no window gauge (CCID 3 has no cwnd)", () =>
    inRegistry(Effect.gen(function*() {
      const listener = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], ccid: 3 })
      const target = `127.0.0.1:${listener.port}`
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* Dccp.connect({ address: target, serviceCode: 42, ccid: 3 })
        const server = yield* listener.accept
        assert.strictEqual((yield* client.info).txCcid, 3)
        assert.strictEqual((yield* server.info).txCcid, 3)
        yield* client.send("ping")
        assert.strictEqual(new TextDecoder().decode(yield* server.recv), "ping")
        yield* server.send("pong!")
        assert.strictEqual(new TextDecoder().decode(yield* client.recv), "pong!")
        const attributes = { side: "connect", local: `127.0.0.1:${(client.localAddress as NetAddress.InetAddress).port}`, peer: target }
        assert.isAbove((yield* value("effect_mio_dccp_rtt_seconds", attributes))!, 0)
        assert.strictEqual(yield* value("effect_mio_dccp_cwnd_packets", { side: "connect" }), undefined)
        assert.strictEqual(yield* value("effect_mio_dccp_cwnd_packets", { side: "accept" }), undefined)
        assert.isDefined(yield* value("effect_mio_dccp_rtt_seconds", { side: "accept" }))
        assert.strictEqual(yield* value("effect_mio_connections_open", { transport: "dccp", side: "connect" }), 1)
        assert.strictEqual(yield* value("effect_mio_connections_open", { transport: "dccp", side: "accept" }), 1)
        yield* client.close
      }))
      assert.strictEqual(yield* value("effect_mio_dccp_rtt_seconds", { side: "connect" }), undefined)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "dccp", side: "connect" }), 1)
      assert.strictEqual(yield* value("effect_mio_connections_total", { transport: "dccp", side: "accept" }), 1)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "dccp", direction: "sent" }), 9)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "dccp", direction: "recv" }), 9)
      assert.isAbove((yield* value("effect_mio_datagrams_total", { transport: "dccp", direction: "recv" }))!, 2)
    })), 30_000)

  it.live("the reactor: polls, wake-ups and events grow; registered sources and parked fibers are gauges", () =>
    inRegistry(Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      const server = yield* echoServer(Tcp.listen("127.0.0.1:0"))
      yield* echo(yield* Tcp.connect(`127.0.0.1:${(server.address as NetAddress.InetAddress).port}`), "ping")
      const stats = reactor.stats()
      assert.isAbove(stats.wakeups, 0)
      assert.strictEqual(yield* value("effect_mio_reactor_polls_total", { strategy: "park" }), reactor.stats().polls)
      assert.strictEqual(yield* value("effect_mio_reactor_wakeups_total", { strategy: "park" }), reactor.stats().wakeups)
      assert.strictEqual(yield* value("effect_mio_reactor_events_total", { strategy: "park" }), reactor.stats().dispatched)
      assert.strictEqual(yield* value("effect_mio_reactor_registered", { strategy: "park" }), reactor.stats().registered)
      assert.strictEqual(yield* value("effect_mio_reactor_waiting", { strategy: "park" }), reactor.stats().waiting)
      assert.isAbove(reactor.stats().registered, 0)
    })))

  it.live("the test kit's Relay: its drops by reason, from its stats", () =>
    inRegistry(Effect.gen(function*() {
      const target = yield* UdpSocket.bind("127.0.0.1:0")
      const relay = yield* Relay.make({ target: target.localAddr() as SocketAddress.SocketAddress, seed: 1, forward: { loss: 1 } })
      const client = yield* UdpSocket.bind("127.0.0.1:0")
      for (let i = 0; i < 10; i++) client.sendTo(new Uint8Array(20), SocketAddress.format(relay.address))
      yield* eventually("effect_mio_drops_total", { transport: "relay", reason: "impaired" }, 10)
      assert.strictEqual(yield* value("effect_mio_drops_total", { transport: "relay", reason: "overflow" }), 0)
    })))

  it.live("reliable UDP: endpoints (both of the pair are clients), their datagrams and bytes, from the endpoints' own stats", () =>
    inRegistry(Effect.gen(function*() {
      const [a, b] = yield* UdpLike.loopbackPair()
      const client = yield* Endpoint.make(a)
      const server = yield* Endpoint.make(b)
      yield* client.sendPayload(Guarantee.Delivery, new TextEncoder().encode("hello"))
      for (let i = 0; i < 20; i++) {
        yield* client.maintain
        yield* server.maintain
      }
      const stats = yield* client.stats
      assert.strictEqual(yield* value("effect_mio_connections_open", { transport: "rudp", side: "connect" }), 2)
      const sent = yield* value("effect_mio_datagrams_total", { transport: "rudp", direction: "sent" })
      const peerStats = yield* server.stats
      assert.strictEqual(sent, stats.transport.datagramsOut + peerStats.transport.datagramsOut)
      assert.strictEqual(yield* value("effect_mio_bytes_total", { transport: "rudp", direction: "sent" }), stats.stats.bytesSent + peerStats.stats.bytesSent)
      assert.isDefined(yield* value("effect_mio_drops_total", { transport: "rudp", reason: "message_duplicate" }))
    })))
})
