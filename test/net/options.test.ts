/**
 * Bad input across the readiness level. Every case is a typed `IoError`
 * value (or a failed Effect for constructors): nothing throws, and no fd is
 * left behind (a constructor that fails after creating its socket closes it).
 * Also the option setters/getters beyond mio's own tests.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as IoError from "../../src/IoError.ts"
import * as Pipe from "../../src/net/Pipe.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as UnixDatagram from "../../src/net/UnixDatagram.ts"
import * as UnixListener from "../../src/net/UnixListener.ts"
import * as UnixStream from "../../src/net/UnixStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks, openFds } from "../util/fds.ts"
import { bytes, expectEvents, expectIoError, expectOk, expectWritten } from "../util/expect.ts"
import { tempPath } from "../util/peer.ts"

const buf = new Uint8Array(8)

/** Runs a constructor that must fail; returns its error. */
const failsWith = <A>(make: Effect.Effect<A, IoError.IoError, import("effect/Scope").Scope>, kind: IoError.IoErrorKind, text?: string) =>
  Effect.gen(function*() {
    const e = yield* Effect.flip(Effect.scoped(make))
    return expectIoError(e, kind, text)
  })

describe("bad input: addresses", () => {
  checkFdLeaks()

  it.live("malformed addresses, out-of-range ports, hostnames, wrong families fail the constructors", () =>
    Effect.gen(function*() {
      const before = openFds().size
      yield* failsWith(TcpListener.bind("nope"), "InvalidInput", "nope")
      yield* failsWith(TcpListener.bind("127.0.0.1:65536"), "InvalidInput", "65535")
      yield* failsWith(TcpListener.bind("localhost"), "InvalidInput", "localhost")
      assert.strictEqual(TcpListener.bindUnscoped("localhost:0") instanceof IoError.IoError, true)
      yield* failsWith(UdpSocket.bind("bad..name:0"), "InvalidInput", "bad..name")
      yield* failsWith(TcpListener.bind("/tmp/x.sock"), "InvalidInput", "IPv4 or IPv6")
      yield* failsWith(TcpStream.connect("[::1]"), "InvalidInput")
      yield* failsWith(TcpStream.connect("127.0.0.1:9", { bind: "zz" }), "InvalidInput", "zz")
      yield* failsWith(UdpSocket.bind("127.0.0.1:-1"), "InvalidInput")
      yield* failsWith(UdpSocket.bind("@abstract"), "InvalidInput", "IPv4 or IPv6")
      yield* failsWith(UnixListener.bind("127.0.0.1:80"), "InvalidInput", "Unix socket path")
      yield* failsWith(UnixStream.connect("127.0.0.1:80"), "InvalidInput", "Unix socket path")
      yield* failsWith(UnixDatagram.bind("[::1]:0"), "InvalidInput", "Unix socket path")
      yield* failsWith(UnixListener.bind("/tmp/" + "a".repeat(200)), "InvalidInput", "at most 107 bytes")
      yield* failsWith(UnixListener.bind("@" + "a".repeat(108)), "InvalidInput", "at most 107 bytes")
      assert.strictEqual(openFds().size, before)
    }))

  it.live("the kernel's refusals are typed too: in use, missing path, missing directory, wrong family", () =>
    Effect.gen(function*() {
      const l = yield* TcpListener.bind("127.0.0.1:0")
      const e = yield* failsWith(TcpListener.bind(expectOk(l.localAddr())), "AddressInUse")
      assert.strictEqual(e.code, "EADDRINUSE")
      assert.strictEqual(e.address, SocketAddress.format(expectOk(l.localAddr())))
      yield* failsWith(UnixStream.connect(tempPath("missing")), "NotFound")
      yield* failsWith(UnixDatagram.bind("/nonexistent-dir/x.sock"), "NotFound")
      yield* failsWith(UnixStream.connect("@effect-mio-nobody-listens-here"), "ConnectionRefused")
      yield* failsWith(TcpStream.connect("[::1]:9", { bind: "127.0.0.1:0" }), "InvalidInput")
      yield* failsWith(TcpListener.bind("192.0.2.1:0"), "AddressNotAvailable") // TEST-NET-1, not local
    }))

  it.live("per-call addresses: sendTo/connect with bad or foreign addresses return IoError values", () =>
    Effect.gen(function*() {
      const u = yield* UdpSocket.bind("127.0.0.1:0")
      expectIoError(u.sendTo(buf, "nope"), "InvalidInput", "nope")
      expectIoError(u.sendTo(buf, "127.0.0.1:70000"), "InvalidInput")
      expectIoError(u.sendTo(buf, "[::1]:9"), "InvalidInput") // EAFNOSUPPORT from an IPv4 socket
      expectIoError(u.connect("zz"), "InvalidInput")
      const d = yield* UnixDatagram.unbound()
      expectIoError(d.sendTo(buf, "127.0.0.1:9"), "InvalidInput", "Unix socket path")
      expectIoError(d.connect("127.0.0.1:9"), "InvalidInput")
    }))

  it.live("fromFd of something that is not a socket of that type", () =>
    Effect.gen(function*() {
      yield* failsWith(TcpStream.fromFd(-1), "InvalidInput", "not a file descriptor")
      yield* failsWith(UdpSocket.fromFd(1.5), "InvalidInput")
      yield* failsWith(TcpListener.fromFd(1_000_000), "Closed") // EBADF
      const u = yield* UdpSocket.bind("127.0.0.1:0")
      yield* failsWith(TcpStream.fromFd(u.fd), "InvalidInput", "type") // a datagram socket
      const [tx] = yield* Pipe.make()
      yield* failsWith(UnixStream.fromFd(tx.fd), "InvalidInput") // ENOTSOCK
      const tcp = yield* TcpListener.bind("127.0.0.1:0")
      yield* failsWith(UnixListener.fromFd(tcp.fd), "InvalidInput", "not a Unix socket")
    }))
})

describe("bad input: option values", () => {
  checkFdLeaks()

  it.live("TTL / hop limit 1..255; TOS 0..255; multicast TTL 0..255", () =>
    Effect.gen(function*() {
      const u = yield* UdpSocket.bind("127.0.0.1:0")
      const u6 = yield* UdpSocket.bind("[::1]:0")
      for (const s of [u, u6]) {
        for (const bad of [0, 256, -1, 1.5, Number.NaN]) expectIoError(s.setTtl(bad), "InvalidInput")
        assert.isUndefined(s.setTtl(1))
        assert.isUndefined(s.setTtl(255))
        assert.strictEqual(expectOk(s.ttl()), 255)
        for (const bad of [256, -1]) {
          expectIoError(s.setTos(bad), "InvalidInput")
          expectIoError(s.setMulticastTtl(bad), "InvalidInput")
        }
      }
      assert.isUndefined(u.setTos(0x10))
      assert.strictEqual(expectOk(u.tos()), 0x10)
      assert.isUndefined(u6.setTos(0x20))
      assert.strictEqual(expectOk(u6.tos()), 0x20)
      assert.isUndefined(u6.setMulticastTtl(0))
      assert.strictEqual(expectOk(u6.multicastTtl()), 0)
    }))

  it.live("buffer sizes are positive; the kernel doubles what is set", () =>
    Effect.gen(function*() {
      const u = yield* UdpSocket.bind("127.0.0.1:0")
      for (const bad of [-1, 0, -4096, 2 ** 31, 1.5]) {
        expectIoError(u.setRecvBufferSize(bad), "InvalidInput")
        expectIoError(u.setSendBufferSize(bad), "InvalidInput")
      }
      assert.isUndefined(u.setRecvBufferSize(65536))
      assert.strictEqual(expectOk(u.recvBufferSize()), 131072)
      assert.isUndefined(u.setSendBufferSize(65536))
      assert.strictEqual(expectOk(u.sendBufferSize()), 131072)
      yield* failsWith(UdpSocket.bind("127.0.0.1:0", { recvBufferSize: -1 }), "InvalidInput", "SO_RCVBUF")
      yield* failsWith(TcpListener.bind("127.0.0.1:0", { recvBufferSize: 0 }), "InvalidInput", "SO_RCVBUF")
      yield* failsWith(TcpStream.connect("127.0.0.1:9", { sendBufferSize: -1 }), "InvalidInput", "SO_SNDBUF")
    }))

  it.live("linger: negative or infinite is InvalidInput; 0 and positive durations round-trip (whole seconds)", () =>
    Effect.gen(function*() {
      const l = yield* TcpListener.bind("127.0.0.1:0")
      const s = yield* TcpStream.connect(expectOk(l.localAddr()))
      expectIoError(s.setLinger(-1), "InvalidInput", "SO_LINGER")
      expectIoError(s.setLinger("-1 seconds"), "InvalidInput")
      expectIoError(s.setLinger("Infinity"), "InvalidInput")
      assert.isTrue(Option.isNone(expectOk(s.linger())))
      assert.isUndefined(s.setLinger(0))
      assert.deepStrictEqual(Option.map(expectOk(s.linger()), Duration.toSeconds), Option.some(0))
      assert.isUndefined(s.setLinger("1500 millis"))
      assert.deepStrictEqual(Option.map(expectOk(s.linger()), Duration.toSeconds), Option.some(2), "rounded up")
      assert.isUndefined(s.setLinger(undefined))
      assert.isTrue(Option.isNone(expectOk(s.linger())))
      yield* failsWith(TcpStream.connect(expectOk(l.localAddr()), { linger: -5 }), "InvalidInput", "SO_LINGER")
    }))

  it.live("keepalive, nodelay, booleans, backlog, shutdown and multicast arguments", () =>
    Effect.gen(function*() {
      const l = yield* TcpListener.bind("127.0.0.1:0")
      const s = yield* TcpStream.connect(expectOk(l.localAddr()))
      expectIoError(s.setKeepalive({ count: 0 }), "InvalidInput", "keepalive count")
      expectIoError(s.setKeepalive({ count: 128 }), "InvalidInput")
      expectIoError(s.setKeepalive({ idle: 0 }), "InvalidInput", "keepalive idle")
      expectIoError(s.setKeepalive({ interval: "Infinity" }), "InvalidInput")
      assert.isUndefined(s.setKeepalive({ idle: "30 seconds", interval: "5 seconds", count: 3 }))
      assert.isTrue(expectOk(s.keepalive()))
      const timing = expectOk(s.keepaliveTiming())
      assert.strictEqual(Duration.toSeconds(timing.idle), 30)
      assert.strictEqual(Duration.toSeconds(timing.interval), 5)
      assert.strictEqual(timing.count, 3)
      assert.isUndefined(s.setKeepalive(false))
      assert.isFalse(expectOk(s.keepalive()))
      expectIoError(s.setNodelay(1 as unknown as boolean), "InvalidInput", "boolean")
      expectIoError(s.shutdown("sideways" as never), "InvalidInput")
      expectIoError(l.setOnlyV6(true), "InvalidInput", "IPv6")
      yield* failsWith(TcpListener.bind("127.0.0.1:0", { backlog: -1 }), "InvalidInput", "backlog")
      yield* failsWith(UnixListener.bind(tempPath("backlog"), { backlog: 1.5 }), "InvalidInput", "backlog")

      const u = yield* UdpSocket.bind("127.0.0.1:0")
      expectIoError(u.setBroadcast("yes" as unknown as boolean), "InvalidInput")
      expectIoError(u.joinMulticast("10.0.0.1"), "InvalidInput", "not a multicast group")
      expectIoError(u.joinMulticast("zzz"), "InvalidInput")
      expectIoError(u.joinMulticast("239.1.1.1", "nosuchif0"), "InvalidInput", "nosuchif0")
      expectIoError(u.joinMulticast("239.1.1.1", -1), "InvalidInput")
      expectIoError(u.setMulticastInterface("nosuchif0"), "InvalidInput")
      expectIoError(u.joinMulticast("ff02::1"), "InvalidInput") // an IPv6 group on an IPv4 socket: ENOPROTOOPT
      yield* failsWith(UdpSocket.bind("127.0.0.1:0", { ttl: 256 }), "InvalidInput", "TTL")
      yield* failsWith(UdpSocket.bind("127.0.0.1:0", { onlyV6: true }), "InvalidInput", "IPv6")
      yield* failsWith(TcpStream.connect(expectOk(l.localAddr()), { ttl: 0 }), "InvalidInput", "TTL")
    }))
})

describe("bad input: closed sockets", () => {
  checkFdLeaks()

  it.live("every operation on a closed socket or pipe end returns kind Closed", () =>
    Effect.gen(function*() {
      const l = yield* TcpListener.bind("127.0.0.1:0")
      const stream = yield* TcpStream.connect(expectOk(l.localAddr()))
      const udp = yield* UdpSocket.bind("127.0.0.1:0")
      const [us] = yield* UnixStream.pair()
      const ul = yield* UnixListener.bind(tempPath("closed"))
      const [ud] = yield* UnixDatagram.pair()
      const [tx, rx] = yield* Pipe.make()
      for (const s of [l, stream, udp, us, ul, ud, tx, rx]) assert.isUndefined(s.close())

      const closed = (r: unknown) => expectIoError(r, "Closed")
      for (const s of [l, stream, udp, us, ul, ud]) {
        closed(s.localAddr())
        closed(s.peerAddr())
        closed(s.takeError())
        closed(s.shutdown("both"))
        closed(s.setRecvBufferSize(1024))
        closed(s.recvBufferSize())
        closed(s.setSendBufferSize(1024))
        closed(s.sendBufferSize())
        closed(s.setReuseAddr(true))
        closed(s.reuseAddr())
        closed(s.isNonblocking())
        closed(s.isCloseOnExec())
      }
      closed(l.accept())
      closed(ul.accept())
      for (const s of [stream, us]) {
        closed(s.read(buf))
        closed(s.write(buf))
        closed(s.readv([buf]))
        closed(s.writev([buf]))
        closed(s.peek(buf))
      }
      closed(stream.writeOob(buf))
      closed(stream.setNodelay(true))
      closed(stream.setLinger(0))
      closed(stream.linger())
      closed(stream.setKeepalive(true))
      for (const s of [l, stream, udp]) {
        closed(s.setTtl(64))
        closed(s.ttl())
      }
      closed(udp.sendTo(buf, "127.0.0.1:9"))
      closed(udp.recvFrom(buf))
      closed(udp.peekFrom(buf))
      closed(udp.send(buf))
      closed(udp.recv(buf))
      closed(udp.connect("127.0.0.1:9"))
      closed(udp.disconnect())
      closed(udp.recvBatch())
      closed(udp.sendBatch([{ payload: buf, address: "127.0.0.1:9" }]))
      closed(udp.sendSegments(buf, 4, "127.0.0.1:9"))
      closed(udp.setGro(true))
      closed(udp.setBroadcast(true))
      closed(udp.joinMulticast("239.1.1.1"))
      closed(udp.setMulticastInterface(1))
      closed(ud.sendTo(buf, "/tmp/x"))
      closed(ud.recvFrom(buf))
      closed(ud.send(buf))
      closed(ud.recv(buf))
      closed(ud.connect("/tmp/x"))
      closed(tx.write(buf))
      closed(tx.writev([buf]))
      closed(rx.read(buf))
      closed(rx.readv([buf]))
      closed(tx.setNonblocking(false))
      // and the registry refuses them
      const poll = yield* Poll.make()
      closed(yield* Effect.flip(poll.registry.register(stream, Token(1), Interest.READABLE)))
      // closing again is a no-op
      for (const s of [l, stream, udp, us, ul, ud, tx, rx]) assert.isUndefined(s.close())
    }))
})

describe("bad input: errors the kernel reports later", () => {
  checkFdLeaks()

  it.live("a connected UDP socket sending to a closed port: ConnectionRefused on a later call", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const port = yield* Effect.scoped(Effect.map(UdpSocket.bind("127.0.0.1:0"), (s) => expectOk(s.localAddr())))
      const u = yield* UdpSocket.bind("127.0.0.1:0")
      assert.isUndefined(u.connect(port))
      yield* poll.registry.register(u, Token(1), Interest.READABLE)
      expectWritten(u.send(bytes("anyone?")), 7) // the send itself succeeds
      // The ICMP port unreachable comes back as a pending error: an error event…
      yield* expectEvents(poll, events, [{ token: Token(1), readiness: ["error"] }])
      // …and the next call reports it, once.
      const e = expectIoError(u.recv(buf), "ConnectionRefused")
      assert.strictEqual(e.code, "ECONNREFUSED")
      assert.strictEqual(u.recv(buf), WouldBlock)
      // takeError reports it as well, when no call consumed it first.
      expectWritten(u.send(bytes("again")), 5)
      yield* expectEvents(poll, events, [{ token: Token(1), readiness: ["error"] }])
      expectIoError(u.takeError(), "ConnectionRefused")
      assert.isUndefined(u.takeError())
    }))

  it.live("a write to a pipe whose read end is closed: BrokenPipe, no SIGPIPE", () =>
    Effect.gen(function*() {
      const [tx, rx] = yield* Pipe.make()
      rx.close()
      const e = expectIoError(tx.write(buf), "BrokenPipe")
      assert.strictEqual(e.code, "EPIPE")
    }))
})
