/**
 * Port of mio's tests/udp_socket.rs. mio's `std::net::UdpSocket` sender thread
 * (`send_packets`) is a `node:dgram` socket; the `_std` variants adopt blocking,
 * inheritable sockets made straight from libc.
 *
 * Not ported: `assert_size`, `is_send_and_sync`, `udp_socket_raw_fd` (no
 * `into_raw_fd`; `fromFd` is covered by the `_std` tests). mio's
 * `*_multicast_*_v4/v6` setters are one `setMulticastLoop`/`setMulticastTtl`
 * pair here, by the socket's family.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { IoError } from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as C from "../../src/sys/constants.ts"
import type { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"
import {
  bytes,
  expectEvents,
  expectIoError,
  expectNoEvents,
  expectOk,
  expectRead,
  expectWouldBlock,
  expectWritten,
  pollUntil,
  text
} from "../util/expect.ts"
import { nodeSendTo, nodeUdp } from "../util/peer.ts"
import { rawBound } from "../util/raw.ts"

const ID1 = Token(0)
const ID2 = Token(1)
const ID3 = Token(2)
const SENDER = Token(0)
const LISTENER = Token(1)
const DATA1 = bytes("Hello world!")
const DATA2 = bytes("Hello mars!")
const RW = Interest.add(Interest.READABLE, Interest.WRITABLE)
const fmt = SocketAddress.format

type Make = Effect.Effect<UdpSocket.UdpSocket, IoError, Scope.Scope>

/** mio's `expect_read!` for `recv_from`/`peek_from`: data and source address. */
const expectReadFrom = (
  r: readonly [number, SocketAddress.SocketAddress] | WouldBlock | IoError,
  buf: Uint8Array,
  data: Uint8Array,
  from: SocketAddress.SocketAddress | undefined
) => {
  const [n, source] = expectOk(r)
  assert.deepStrictEqual([...buf.subarray(0, n)], [...data])
  if (from !== undefined) assert.strictEqual(fmt(source), fmt(from))
}

const std = (address: string): Make => Effect.suspend(() => UdpSocket.fromFd(rawBound(address, C.SOCK_DGRAM)))

/** mio's `smoke_test_unconnected_udp_socket`. */
const smokeUnconnected = (make: Make) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const socket1 = yield* make
    const socket2 = yield* make
    for (const s of [socket1, socket2]) {
      assert.isTrue(expectOk(s.isNonblocking()))
      assert.isTrue(expectOk(s.isCloseOnExec()))
    }
    const address1 = expectOk(socket1.localAddr())
    const address2 = expectOk(socket2.localAddr())
    yield* poll.registry.register(socket1, ID1, RW)
    yield* poll.registry.register(socket2, ID2, RW)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }, { token: ID2, readiness: ["writable"] }])

    const buf = new Uint8Array(20)
    expectWouldBlock(socket1.peekFrom(buf))
    expectWouldBlock(socket1.recvFrom(buf))
    expectWritten(socket1.sendTo(DATA1, address2), DATA1.length)
    expectWritten(socket2.sendTo(DATA2, address1), DATA2.length)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }, { token: ID2, readiness: ["readable"] }])
    expectReadFrom(socket1.peekFrom(buf), buf, DATA2, address2)
    expectReadFrom(socket2.peekFrom(buf), buf, DATA1, address1)
    expectReadFrom(socket1.recvFrom(buf), buf, DATA2, address2)
    expectReadFrom(socket2.recvFrom(buf), buf, DATA1, address1)
    assert.isUndefined(socket1.takeError())
    assert.isUndefined(socket2.takeError())
  })

/** mio's `smoke_test_connected_udp_socket`: the two sockets are connected to each other. */
const smokeConnected = (socket1: UdpSocket.UdpSocket, socket2: UdpSocket.UdpSocket) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    for (const s of [socket1, socket2]) {
      assert.isTrue(expectOk(s.isNonblocking()))
      assert.isTrue(expectOk(s.isCloseOnExec()))
    }
    yield* poll.registry.register(socket1, ID1, RW)
    yield* poll.registry.register(socket2, ID2, RW)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }, { token: ID2, readiness: ["writable"] }])
    const buf = new Uint8Array(20)
    expectWouldBlock(socket1.peek(buf))
    expectWouldBlock(socket1.recv(buf))
    expectWritten(socket1.send(DATA1), DATA1.length)
    expectWritten(socket2.send(DATA2), DATA2.length)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }, { token: ID2, readiness: ["readable"] }])
    expectRead(socket1.peek(buf), buf, DATA2)
    expectRead(socket2.peek(buf), buf, DATA1)
    expectRead(socket1.recv(buf), buf, DATA2)
    expectRead(socket2.recv(buf), buf, DATA1)
    assert.isUndefined(socket1.takeError())
    assert.isUndefined(socket2.takeError())
  })

const connectedPair = (make: Make) =>
  Effect.gen(function*() {
    const socket1 = yield* make
    const socket2 = yield* make
    assert.isUndefined(socket1.connect(expectOk(socket2.localAddr())))
    assert.isUndefined(socket2.connect(expectOk(socket1.localAddr())))
    return [socket1, socket2] as const
  })

/** mio's `send_recv_udp`: an event loop sends "hello world" and receives it. */
const sendRecv = (tx: UdpSocket.UdpSocket, rx: UdpSocket.UdpSocket, connected: boolean) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    expectWouldBlock(rx.recvFrom(new Uint8Array(128)))
    yield* poll.registry.register(tx, SENDER, Interest.WRITABLE)
    yield* poll.registry.register(rx, LISTENER, Interest.READABLE)
    const events = Events.withCapacity(1024)
    const msg = "hello world"
    let buf = bytes(msg)
    const rxBuf = new Uint8Array(1024)
    let shutdown = false
    const deadline = Date.now() + 5000
    while (!shutdown && Date.now() < deadline) {
      yield* poll.poll(events, 500)
      for (const e of events) {
        if (e.isReadable() && e.token === LISTENER) {
          const n = connected ? expectOk(rx.recv(rxBuf)) : expectOk(rx.recvFrom(rxBuf))[0]
          assert.strictEqual(text(rxBuf, n), msg)
          shutdown = true
        }
        if (e.isWritable() && e.token === SENDER && buf.length > 0) {
          const n = connected ? expectOk(tx.send(buf)) : expectOk(tx.sendTo(buf, expectOk(rx.localAddr())))
          buf = buf.subarray(n)
        }
      }
    }
    assert.isTrue(shutdown)
  })

describe("udp_socket (mio tests/udp_socket.rs)", () => {
  checkFdLeaks()

  // mio: udp_socket.rs empty_datagram
  it.live("empty_datagram: a 0-byte datagram is readable and received as 0 bytes", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const s1 = yield* UdpSocket.bind("127.0.0.1:0")
      const s2 = yield* UdpSocket.bind("127.0.0.1:0")
      yield* poll.registry.register(s1, ID1, Interest.WRITABLE)
      yield* poll.registry.register(s2, ID2, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }])
      expectWritten(s1.sendTo(new Uint8Array(0), expectOk(s2.localAddr())), 0)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      const buf = new Uint8Array(10)
      expectReadFrom(s2.recvFrom(buf), buf, new Uint8Array(0), expectOk(s1.localAddr()))
    }))

  // mio: udp_socket.rs unconnected_udp_socket_ipv4 / _ipv6 / _std
  it.live("unconnected_udp_socket_ipv4", () => smokeUnconnected(UdpSocket.bind("127.0.0.1:0")))
  it.live("unconnected_udp_socket_ipv6", () => smokeUnconnected(UdpSocket.bind("[::1]:0")))
  it.live("unconnected_udp_socket_std", () => smokeUnconnected(std("127.0.0.1:0")))

  // mio: udp_socket.rs set_get_ttl / get_ttl_without_previous_set
  it.live("set_get_ttl, get_ttl_without_previous_set", () =>
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      assert.isAbove(expectOk(socket.ttl()), 0)
      assert.isUndefined(socket.setTtl(10))
      assert.strictEqual(expectOk(socket.ttl()), 10)
      assert.isUndefined(socket.takeError())
    }))

  // mio: udp_socket.rs set_get_broadcast / get_broadcast_without_previous_set
  it.live("set_get_broadcast, get_broadcast_without_previous_set", () =>
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      assert.isFalse(expectOk(socket.broadcast()))
      assert.isUndefined(socket.setBroadcast(true))
      assert.isTrue(expectOk(socket.broadcast()))
      assert.isUndefined(socket.setBroadcast(false))
      assert.isFalse(expectOk(socket.broadcast()))
      assert.isUndefined(socket.takeError())
    }))

  // mio: udp_socket.rs set_get_multicast_loop_v4 / get_..._without_previous_set
  // and set_get_multicast_loop_v6 / get_..._without_previous_set
  for (const host of ["127.0.0.1:0", "[::1]:0"]) {
    it.live(`set_get_multicast_loop (${host})`, () =>
      Effect.gen(function*() {
        const socket = yield* UdpSocket.bind(host)
        expectOk(socket.multicastLoop())
        assert.isUndefined(socket.setMulticastLoop(true))
        assert.isTrue(expectOk(socket.multicastLoop()))
        assert.isUndefined(socket.setMulticastLoop(false))
        assert.isFalse(expectOk(socket.multicastLoop()))
        assert.isUndefined(socket.takeError())
      }))
  }

  // mio: udp_socket.rs set_get_multicast_ttl_v4 / get_multicast_ttl_v4_without_previous_set
  it.live("set_get_multicast_ttl_v4, get_multicast_ttl_v4_without_previous_set", () =>
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      expectOk(socket.multicastTtl())
      assert.isUndefined(socket.setMulticastTtl(10))
      assert.strictEqual(expectOk(socket.multicastTtl()), 10)
      assert.isUndefined(socket.takeError())
    }))

  // mio: udp_socket.rs connected_udp_socket_ipv4 / _ipv6 / _std
  it.live("connected_udp_socket_ipv4", () =>
    Effect.flatMap(connectedPair(UdpSocket.bind("127.0.0.1:0")), ([a, b]) => smokeConnected(a, b)))
  it.live("connected_udp_socket_ipv6", () =>
    Effect.flatMap(connectedPair(UdpSocket.bind("[::1]:0")), ([a, b]) => smokeConnected(a, b)))
  it.live("connected_udp_socket_std", () =>
    Effect.flatMap(connectedPair(std("127.0.0.1:0")), ([a, b]) => smokeConnected(a, b)))

  // mio: udp_socket.rs reconnect_udp_socket_sending
  it.live("reconnect_udp_socket_sending: connect again, send goes to the new peer", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket1 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket2 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket3 = yield* UdpSocket.bind("127.0.0.1:0")
      const [address1, address2, address3] = [socket1, socket2, socket3].map((s) => expectOk(s.localAddr()))
      assert.isUndefined(socket1.connect(address2!))
      assert.isUndefined(socket2.connect(address1!))
      assert.isUndefined(socket3.connect(address1!))
      yield* poll.registry.register(socket1, ID1, RW)
      yield* poll.registry.register(socket2, ID2, Interest.READABLE)
      yield* poll.registry.register(socket3, ID3, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }])
      expectWritten(socket1.send(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      const buf = new Uint8Array(20)
      expectRead(socket2.recv(buf), buf, DATA1)
      assert.isUndefined(socket1.connect(address3!))
      expectWritten(socket1.send(DATA2), DATA2.length)
      yield* expectEvents(poll, events, [{ token: ID3, readiness: ["readable"] }])
      expectRead(socket3.recv(buf), buf, DATA2)
      for (const s of [socket1, socket2, socket3]) assert.isUndefined(s.takeError())
    }))

  // mio: udp_socket.rs reconnect_udp_socket_receiving — a connected socket
  // receives only from its peer
  it.live("reconnect_udp_socket_receiving: receives from whichever peer it is connected to", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket1 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket2 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket3 = yield* UdpSocket.bind("127.0.0.1:0")
      const [address1, address2, address3] = [socket1, socket2, socket3].map((s) => expectOk(s.localAddr()))
      assert.isUndefined(socket1.connect(address2!))
      assert.isUndefined(socket2.connect(address1!))
      assert.isUndefined(socket3.connect(address1!))
      yield* poll.registry.register(socket1, ID1, Interest.READABLE)
      yield* poll.registry.register(socket2, ID2, Interest.WRITABLE)
      yield* poll.registry.register(socket3, ID3, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["writable"] }, { token: ID3, readiness: ["writable"] }])
      const buf = new Uint8Array(20)

      expectWritten(socket2.send(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      expectRead(socket1.recv(buf), buf, DATA1)
      expectWouldBlock(socket1.recv(buf))

      assert.isUndefined(socket1.connect(address3!))
      expectWritten(socket3.send(DATA2), DATA2.length)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      expectRead(socket1.recv(buf), buf, DATA2)
      expectWouldBlock(socket1.recv(buf))

      assert.isUndefined(socket1.connect(address2!))
      expectWritten(socket2.send(DATA2), DATA2.length)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      expectRead(socket1.recv(buf), buf, DATA2)
      for (const s of [socket1, socket2, socket3]) assert.isUndefined(s.takeError())
    }))

  // mio: udp_socket.rs unconnected_udp_socket_connected_methods
  it.live("unconnected_udp_socket_connected_methods: send needs an address; recv/peek work", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket1 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket2 = yield* UdpSocket.bind("127.0.0.1:0")
      const address2 = expectOk(socket2.localAddr())
      yield* poll.registry.register(socket1, ID1, Interest.WRITABLE)
      yield* poll.registry.register(socket2, ID2, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }])
      const e = expectIoError(socket1.send(DATA1), "NotConnected", "address required")
      assert.strictEqual(e.code, "EDESTADDRREQ")
      expectWritten(socket1.sendTo(DATA1, address2), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      const buf = new Uint8Array(20)
      expectRead(socket2.peek(buf), buf, DATA1)
      expectRead(socket2.recv(buf), buf, DATA1)
      assert.isUndefined(socket1.takeError())
      assert.isUndefined(socket2.takeError())
    }))

  // mio: udp_socket.rs connected_udp_socket_unconnected_methods — Linux allows
  // sendTo on a connected socket
  it.live("connected_udp_socket_unconnected_methods: sendTo on a connected socket works (Linux)", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket1 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket2 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket3 = yield* UdpSocket.bind("127.0.0.1:0")
      const address2 = expectOk(socket2.localAddr())
      const address3 = expectOk(socket3.localAddr())
      assert.isUndefined(socket1.connect(address3))
      assert.isUndefined(socket3.connect(address2))
      yield* poll.registry.register(socket1, ID1, Interest.WRITABLE)
      yield* poll.registry.register(socket2, ID2, Interest.WRITABLE)
      yield* poll.registry.register(socket3, ID3, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }, { token: ID2, readiness: ["writable"] }])
      // BSDs refuse with EISCONN ("already connected"); Linux sends, to any address.
      expectWritten(socket1.sendTo(DATA1, address2), DATA1.length)
      expectWritten(socket2.sendTo(DATA2, address3), DATA2.length)
      yield* expectEvents(poll, events, [{ token: ID3, readiness: ["readable"] }])
      const buf = new Uint8Array(20)
      expectReadFrom(socket3.peekFrom(buf), buf, DATA2, address2)
      expectReadFrom(socket3.recvFrom(buf), buf, DATA2, address2)
      expectReadFrom(socket2.recvFrom(buf), buf, DATA1, expectOk(socket1.localAddr()))
      for (const s of [socket1, socket2, socket3]) assert.isUndefined(s.takeError())
    }))

  // mio: udp_socket.rs udp_socket_register
  it.live("udp_socket_register: READABLE, no traffic → no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      yield* poll.registry.register(socket, ID1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
    }))

  // mio: udp_socket.rs udp_socket_reregister — a datagram queued while
  // registered WRITABLE is reported after reregistering READABLE
  it.live("udp_socket_reregister: only writable while WRITABLE; readable (ID2) after reregister", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      const address = fmt(expectOk(socket.localAddr()))
      const sender = yield* nodeUdp("127.0.0.1")
      yield* poll.registry.register(socket, ID1, Interest.WRITABLE)
      yield* nodeSendTo(sender, DATA1, address)
      const seen = yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }])
      assert.isFalse(seen.some((e) => e.isReadable()), "not readable!")
      yield* poll.registry.reregister(socket, ID2, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      const buf = new Uint8Array(20)
      expectReadFrom(socket.recvFrom(buf), buf, DATA1, undefined)
    }))

  // mio: udp_socket.rs udp_socket_no_events_after_deregister
  it.live("udp_socket_no_events_after_deregister: no events; the datagram is still there", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      const sender = yield* nodeUdp("127.0.0.1")
      yield* poll.registry.register(socket, ID1, Interest.READABLE)
      yield* nodeSendTo(sender, DATA1, fmt(expectOk(socket.localAddr())))
      yield* poll.registry.deregister(socket)
      yield* expectNoEvents(poll, events)
      const buf = new Uint8Array(20)
      expectReadFrom(socket.recvFrom(buf), buf, DATA1, SocketAddress.parse(sender.address) as SocketAddress.SocketAddress)
    }))

  // mio: udp_socket.rs udp_socket (unconnected) and udp_socket_send_recv (connected)
  it.live("udp_socket: event loop with sendTo/recvFrom", () =>
    Effect.gen(function*() {
      const tx = yield* UdpSocket.bind("127.0.0.1:0")
      const rx = yield* UdpSocket.bind("127.0.0.1:0")
      yield* sendRecv(tx, rx, false)
    }))
  it.live("udp_socket_send_recv: event loop with send/recv on connected sockets", () =>
    Effect.gen(function*() {
      const [tx, rx] = yield* connectedPair(UdpSocket.bind("127.0.0.1:0"))
      yield* sendRecv(tx, rx, true)
    }))

  // mio: udp_socket.rs udp_socket_discard — a connected socket drops datagrams
  // from other sources (mio waits 5 s for an event; on loopback 200 ms is plenty,
  // and the queue is then checked directly)
  it.live("udp_socket_discard: a connected socket gets nothing from a third socket", () =>
    Effect.gen(function*() {
      const tx = yield* UdpSocket.bind("127.0.0.1:0")
      const rx = yield* UdpSocket.bind("127.0.0.1:0")
      const outside = yield* UdpSocket.bind("127.0.0.1:0")
      const txAddr = expectOk(tx.localAddr())
      const rxAddr = expectOk(rx.localAddr())
      assert.isUndefined(tx.connect(rxAddr))
      assert.isUndefined(outside.connect(rxAddr))
      assert.isUndefined(rx.connect(txAddr))
      const poll = yield* Poll.make()
      const events = Events.withCapacity(1024)
      yield* poll.registry.register(outside, ID1, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }])
      expectWritten(outside.send(bytes("hello world")), 11)
      yield* poll.registry.register(rx, LISTENER, Interest.READABLE)
      yield* poll.registry.register(tx, SENDER, Interest.WRITABLE)
      yield* poll.poll(events, 200)
      for (const e of events) {
        assert.isFalse(e.isReadable() && e.token === LISTENER, "expected to not receive a packet")
      }
      expectWouldBlock(rx.recv(new Uint8Array(64)))
    }))

  // mio: udp_socket.rs multicast — rx joins two groups; a unicast exchange
  // through the event loop; the source is the sender's loopback address
  it.live("multicast: join two IPv4 groups on any interface; unicast exchange", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const tx = yield* UdpSocket.bind("127.0.0.1:0")
      const rx = yield* UdpSocket.bind("127.0.0.1:0")
      assert.isUndefined(rx.joinMulticast("227.1.1.100", "0.0.0.0"))
      assert.isUndefined(rx.joinMulticast("227.1.1.101", "0.0.0.0"))
      yield* poll.registry.register(tx, SENDER, Interest.WRITABLE)
      yield* poll.registry.register(rx, LISTENER, Interest.READABLE)
      const events = Events.withCapacity(1024)
      const msg = bytes("hello world")
      let sent = false
      const e = yield* pollUntil(poll, events, (e) => {
        if (e.isWritable() && e.token === SENDER && !sent) {
          expectWritten(tx.sendTo(msg, expectOk(rx.localAddr())), msg.length)
          sent = true
        }
        return e.isReadable() && e.token === LISTENER
      })
      assert.strictEqual(e.token, LISTENER)
      const buf = new Uint8Array(1024)
      const [n, from] = expectOk(rx.recvFrom(buf))
      assert.strictEqual(text(buf, n), "hello world")
      assert.isTrue(fmt(from).startsWith("127.0.0.1:"))
      assert.isUndefined(rx.leaveMulticast("227.1.1.100", "0.0.0.0"))
      assert.isUndefined(rx.leaveMulticast("227.1.1.101", "0.0.0.0"))
    }))

  // mio: udp_socket.rs et_behavior_recv
  it.live("et_behavior_recv: recv until WouldBlock re-arms the edge", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket1 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket2 = yield* UdpSocket.bind("127.0.0.1:0")
      yield* poll.registry.register(socket1, ID1, Interest.WRITABLE)
      yield* poll.registry.register(socket2, ID2, RW)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }, { token: ID2, readiness: ["writable"] }])
      assert.isUndefined(socket1.connect(expectOk(socket2.localAddr())))
      const buf = new Uint8Array(20)
      expectWritten(socket1.send(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      expectRead(socket2.recv(buf), buf, DATA1)
      expectWouldBlock(socket2.recv(buf))
      expectWritten(socket1.send(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      expectRead(socket2.recv(buf), buf, DATA1)
    }))

  // mio: udp_socket.rs et_behavior_recv_from
  it.live("et_behavior_recv_from: recvFrom until WouldBlock re-arms the edge", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket1 = yield* UdpSocket.bind("127.0.0.1:0")
      const socket2 = yield* UdpSocket.bind("127.0.0.1:0")
      const address1 = expectOk(socket1.localAddr())
      const address2 = expectOk(socket2.localAddr())
      yield* poll.registry.register(socket1, ID1, RW)
      yield* poll.registry.register(socket2, ID2, RW)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }, { token: ID2, readiness: ["writable"] }])
      expectWritten(socket1.sendTo(DATA1, address2), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      const buf = new Uint8Array(20)
      expectReadFrom(socket2.recvFrom(buf), buf, DATA1, address1)
      expectWouldBlock(socket2.recvFrom(buf))
      expectWritten(socket1.sendTo(DATA1, address2), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      expectReadFrom(socket2.recvFrom(buf), buf, DATA1, address1)
      assert.isUndefined(socket1.takeError())
      assert.isUndefined(socket2.takeError())
    }))
})

describe("udp_socket (effect-mio)", () => {
  checkFdLeaks()

  const binds: ReadonlyArray<readonly [string, string]> = [
    ["127.0.0.1:0", "127.0.0.1"],
    ["0.0.0.0:0", "0.0.0.0"],
    ["[::1]:0", "[::1]"],
    ["[::]:0", "[::]"]
  ]
  for (const [host, wildcard] of binds) {
    it.live(`disconnect keeps the local port and receives from anyone again (${host})`, () =>
      Effect.gen(function*() {
        const loopback = host.startsWith("[") ? "[::1]:0" : "127.0.0.1:0"
        const a = yield* UdpSocket.bind(host)
        const port = (expectOk(a.localAddr()) as { port: number }).port
        const b = yield* UdpSocket.bind(loopback)
        const c = yield* UdpSocket.bind(loopback)
        const to = fmt(expectOk(a.localAddr())).replace(/^(0\.0\.0\.0|\[::\])/, host.startsWith("[") ? "[::1]" : "127.0.0.1")
        assert.isUndefined(a.connect(expectOk(b.localAddr())))
        assert.isUndefined(a.disconnect())
        assert.strictEqual(fmt(expectOk(a.localAddr())), `${wildcard}:${port}`)
        expectIoError(a.peerAddr(), "NotConnected")
        expectIoError(a.send(DATA1), "NotConnected", "address required")
        expectWritten(c.sendTo(DATA2, to), DATA2.length)
        const buf = new Uint8Array(20)
        expectReadFrom(a.recvFrom(buf), buf, DATA2, expectOk(c.localAddr()))
        assert.isUndefined(a.disconnect(), "disconnecting an unconnected socket is fine")
        assert.strictEqual(fmt(expectOk(a.localAddr())), `${wildcard}:${port}`)
      }))
  }

  it.live("recvBatch: up to `size` datagrams per call, truncation flagged; WouldBlock when empty", () =>
    Effect.gen(function*() {
      const rx = yield* UdpSocket.bind("127.0.0.1:0", { batch: { size: 2, bufferSize: 4 } })
      const tx = yield* UdpSocket.bind("127.0.0.1:0")
      const to = expectOk(rx.localAddr())
      expectWouldBlock(rx.recvBatch())
      for (const n of [10, 2, 3]) expectWritten(tx.sendTo(new Uint8Array(n).fill(n), to), n)
      const first = expectOk(rx.recvBatch())
      assert.deepStrictEqual(first.map((d) => [d.payload.length, d.truncated]), [[4, true], [2, false]])
      assert.deepStrictEqual([...first[0]!.payload], [10, 10, 10, 10])
      assert.strictEqual(fmt(first[0]!.address), fmt(expectOk(tx.localAddr())))
      const second = expectOk(rx.recvBatch(5))
      assert.deepStrictEqual(second.map((d) => [...d.payload]), [[3, 3, 3]])
      expectWouldBlock(rx.recvBatch())
    }))

  it.live("recvBatch reuses its array, entries and equal-length payload views; a copy keeps its bytes", () =>
    Effect.gen(function*() {
      const rx = yield* UdpSocket.bind("127.0.0.1:0", { batch: { size: 4 } })
      const tx = yield* UdpSocket.bind("127.0.0.1:0")
      const to = expectOk(rx.localAddr())
      for (const n of [1, 2]) expectWritten(tx.sendTo(new Uint8Array(8).fill(n), to), 8)
      const first = expectOk(rx.recvBatch())
      const view = first[0]!.payload, kept = first[0]!.payload.slice()
      for (const n of [3, 4, 5]) expectWritten(tx.sendTo(new Uint8Array(n === 5 ? 3 : 8).fill(n), to), n === 5 ? 3 : 8)
      const second = expectOk(rx.recvBatch())
      assert.strictEqual(second, first)
      assert.deepStrictEqual(second.map((d) => [...d.payload]), [[3, 3, 3, 3, 3, 3, 3, 3], [4, 4, 4, 4, 4, 4, 4, 4], [5, 5, 5]])
      assert.strictEqual(second[0]!.payload, view) // same slot, same length: the same view, new bytes
      assert.deepStrictEqual([...kept], [1, 1, 1, 1, 1, 1, 1, 1])
    }))

  it.live("sendBatch and sendSegments: addressed, connected, and their bad input", () =>
    Effect.gen(function*() {
      const rx = yield* UdpSocket.bind("127.0.0.1:0")
      const tx = yield* UdpSocket.bind("127.0.0.1:0")
      const to = expectOk(rx.localAddr())
      assert.strictEqual(tx.sendBatch([]), 0)
      assert.strictEqual(tx.sendBatch([{ payload: DATA1, address: to }, { payload: DATA2, address: fmt(to) }]), 2)
      assert.deepStrictEqual(expectOk(rx.recvBatch()).map((d) => text(d.payload)), [text(DATA1), text(DATA2)])
      expectIoError(tx.sendBatch([{ payload: DATA1 }]), "NotConnected") // no address, not connected
      expectIoError(tx.sendBatch([{ payload: DATA1, address: "zz" }]), "InvalidInput", "zz")
      expectIoError(tx.sendBatch([{ payload: new Uint8Array(65508), address: to }]), "MessageTooLarge")
      // A datagram too large ends the batch before it, as the kernel's sendmmsg
      // does: the ones ahead are sent (Effect's writeAll contract), and the next
      // call reports it. Bad input (a bad address) still refuses the whole call.
      assert.strictEqual(tx.sendBatch([{ payload: DATA1, address: to }, { payload: new Uint8Array(65508), address: to }]), 1)
      expectIoError(tx.sendBatch([{ payload: new Uint8Array(65508), address: to }]), "MessageTooLarge")
      expectIoError(tx.sendBatch([{ payload: DATA2, address: to }, { payload: DATA1, address: "zz" }]), "InvalidInput", "zz")
      assert.deepStrictEqual(expectOk(rx.recvBatch()).map((d) => text(d.payload)), [text(DATA1)])
      for (const bad of [0, -1, 1.5, 65508]) expectIoError(tx.sendSegments(DATA1, bad, to), "InvalidInput", "segment size")
      assert.strictEqual(expectOk(tx.sendSegments(new Uint8Array(10).fill(7), 4, to)), 3)
      assert.deepStrictEqual(expectOk(rx.recvBatch()).map((d) => d.payload.length), [4, 4, 2])
      assert.isUndefined(tx.connect(to))
      assert.strictEqual(tx.sendBatch([{ payload: DATA1 }, { payload: DATA2 }]), 2)
      assert.strictEqual(expectOk(tx.sendSegments(new Uint8Array(5), 5)), 1)
      assert.deepStrictEqual(expectOk(rx.recvBatch()).map((d) => d.payload.length), [DATA1.length, DATA2.length, 5])
    }))

  it.live("multicast delivery over loopback: join on 127.0.0.1, send with loop on", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const rx = yield* UdpSocket.bind("0.0.0.0:0")
      const port = (expectOk(rx.localAddr()) as { port: number }).port
      assert.isUndefined(rx.joinMulticast("239.255.42.99", "127.0.0.1"))
      yield* poll.registry.register(rx, ID1, Interest.READABLE)
      const tx = yield* UdpSocket.bind("127.0.0.1:0")
      assert.isUndefined(tx.setMulticastInterface("127.0.0.1"))
      assert.isUndefined(tx.setMulticastLoop(true))
      assert.isUndefined(tx.setMulticastTtl(1))
      expectWritten(tx.sendTo(DATA1, `239.255.42.99:${port}`), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      const buf = new Uint8Array(20)
      expectReadFrom(rx.recvFrom(buf), buf, DATA1, expectOk(tx.localAddr()))
      assert.isUndefined(rx.leaveMulticast("239.255.42.99", "127.0.0.1"))
      expectWritten(tx.sendTo(DATA1, `239.255.42.99:${port}`), DATA1.length)
      yield* expectNoEvents(poll, events)
      expectWouldBlock(rx.recvFrom(buf))
    }))
})
