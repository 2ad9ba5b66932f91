/**
 * Port of mio's tests/tcp.rs. mio's `std::net` peers on other threads are
 * `node:net` sockets on the same event loop (see test/util/peer.ts); mio's
 * unbounded `poll(None)` loops are bounded (5 s) with `pollUntil`/`pollNonEmpty`.
 *
 * Not ported: `assert_size` (a JS object is not a bare fd) and
 * `is_send_and_sync` (no threads share sockets in JS).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as net from "node:net"
import * as IoError from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import { scoped } from "../../src/poll/IoSource.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"
import {
  expectEvents,
  expectIoError,
  expectNoEvents,
  expectOk,
  expectRead,
  expectWouldBlock,
  expectWritten,
  pollNonEmpty,
  pollUntil
} from "../util/expect.ts"
import { nodeClose, nodeConnect, nodeServer } from "../util/peer.ts"

const LISTEN = Token(0)
const CLIENT = Token(1)
const SERVER = Token(2)
const ID1 = Token(1)
const ID2 = Token(2)
const ID3 = Token(3)
const RW = Interest.add(Interest.READABLE, Interest.WRITABLE)
const N = 16 * 1024 * 1024

/** Counts what a Node socket reads, resolving once `n` bytes arrived. */
const countUntil = (s: net.Socket, n: number, check?: (chunk: Buffer) => void) =>
  new Promise<number>((resolve) => {
    let got = 0
    s.on("data", (d: Buffer) => {
      check?.(d)
      got += d.length
      if (got >= n) resolve(got)
    })
  })

describe("tcp (mio tests/tcp.rs)", () => {
  checkFdLeaks()

  // mio: tcp.rs accept
  it.live("accept: one readable event, accept once, then WouldBlock", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const addr = SocketAddress.format(expectOk(listener.localAddr()))
      const poll = yield* Poll.make()
      yield* poll.registry.register(listener, Token(1), Interest.READABLE)
      const events = Events.withCapacity(128)
      yield* nodeConnect(addr)
      const seen = yield* pollNonEmpty(poll, events)
      for (const e of seen) {
        assert.strictEqual(e.token, 1)
        assert.isTrue(e.isReadable())
      }
      const [s] = expectOk(listener.accept())
      yield* scoped(s)
      expectWouldBlock(listener.accept())
    }))

  // mio: tcp.rs connect — exactly one writable event, then exactly one readable
  // event when the peer closes
  it.live("connect: writable once connected, readable once the peer closes", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, Token(1), RW)
      const events = Events.withCapacity(128)
      const first = yield* pollNonEmpty(poll, events)
      assert.strictEqual(first.length, 1, first.map(String).join(", "))
      assert.strictEqual(first[0]!.token, 1)
      assert.isTrue(first[0]!.isWritable())
      yield* nodeClose(yield* server.accepted.take)
      const second = yield* pollNonEmpty(poll, events)
      assert.strictEqual(second.length, 1, second.map(String).join(", "))
      assert.strictEqual(second[0]!.token, 1)
      assert.isTrue(second[0]!.isReadable())
    }))

  // mio: tcp.rs read — drain 16 MiB with reads until WouldBlock after each event
  it.live("read: 16 MiB drained one edge at a time", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, Token(1), Interest.READABLE)
      const peer = yield* server.accepted.take
      peer.write(Buffer.alloc(N))
      const events = Events.withCapacity(128)
      const buf = new Uint8Array(1024)
      let amt = 0
      while (amt < N) {
        yield* pollUntil(poll, events, (e) => e.token === 1)
        for (;;) {
          const r = stream.read(buf)
          if (r === WouldBlock) break
          amt += expectOk(r)
          if (amt >= N) break
        }
      }
      assert.strictEqual(amt, N)
    }))

  // mio: tcp.rs peek — peek first (WouldBlock: wait for the next event), then drain
  it.live("peek: peek, then drain 16 MiB", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, Token(1), Interest.READABLE)
      const peer = yield* server.accepted.take
      peer.write(Buffer.alloc(N))
      const events = Events.withCapacity(128)
      const buf = new Uint8Array(1024)
      let amt = 0
      while (amt < N) {
        yield* pollUntil(poll, events, (e) => e.token === 1)
        const p = stream.peek(buf)
        if (p === WouldBlock) continue
        assert.isAbove(expectOk(p), 0)
        for (;;) {
          const r = stream.read(buf)
          if (r === WouldBlock) break
          amt += expectOk(r)
          if (amt >= N) break
        }
      }
      assert.strictEqual(amt, N)
    }))

  // mio: tcp.rs write — write 16 MiB in 1 KiB chunks, waiting for writable on WouldBlock
  it.live("write: 16 MiB written one edge at a time", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, Token(1), Interest.WRITABLE)
      const peer = yield* server.accepted.take
      const received = countUntil(peer, N)
      const events = Events.withCapacity(128)
      const buf = new Uint8Array(1024)
      let amt = 0
      while (amt < N) {
        yield* pollUntil(poll, events, (e) => e.token === 1)
        while (amt < N) {
          const r = stream.write(buf.subarray(0, Math.min(buf.length, N - amt)))
          if (r === WouldBlock) break
          amt += expectOk(r)
        }
      }
      assert.strictEqual(amt, N)
      assert.strictEqual(yield* Effect.promise(() => received), N)
    }))

  // mio: tcp.rs connect_then_close — the server closes the accepted stream
  it.live("connect_then_close: closing the accepted stream is an event for the client", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const s = yield* TcpStream.connect(expectOk(listener.localAddr()))
      yield* poll.registry.register(listener, Token(1), Interest.READABLE)
      yield* poll.registry.register(s, Token(2), Interest.READABLE)
      const events = Events.withCapacity(128)
      const deadline = Date.now() + 5000
      let shutdown = false
      while (!shutdown && Date.now() < deadline) {
        yield* poll.poll(events, 500)
        for (const e of events) {
          if (e.token === 1) {
            const [accepted] = expectOk(listener.accept())
            yield* poll.registry.register(accepted, Token(3), RW)
            accepted.close()
          } else if (e.token === 2) {
            shutdown = true
          }
        }
      }
      assert.isTrue(shutdown)
    }))

  // mio: tcp.rs listen_then_close
  it.live("listen_then_close: a closed listener reports nothing", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(listener, Token(1), Interest.READABLE)
      listener.close()
      const events = Events.withCapacity(128)
      yield* poll.poll(events, 100)
      for (const e of events) assert.notStrictEqual(e.token, 1, "received ready() on a closed TcpListener")
    }))

  // mio: tcp.rs bind_twice_bad — even with SO_REUSEADDR, a listening address is taken
  it.live("bind_twice_bad: AddressInUse", () =>
    Effect.gen(function*() {
      const l1 = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(l1.localAddr())
      const e = yield* Effect.flip(TcpListener.bind(addr))
      expectIoError(e, "AddressInUse", SocketAddress.format(addr))
    }))

  // mio: tcp.rs multiple_writes_immediate_success
  it.live("multiple_writes_immediate_success: 16 × 1 KiB after the first writable event", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const s = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(s, Token(1), Interest.WRITABLE)
      const peer = yield* server.accepted.take
      const received = countUntil(peer, 16 * 1024, (d) => assert.isTrue(d.every((b) => b === 1)))
      const events = Events.withCapacity(16)
      yield* pollUntil(poll, events, (e) => e.token === 1 && e.isWritable())
      for (let i = 0; i < 16; i++) expectWritten(s.write(new Uint8Array(1024).fill(1)), 1024)
      assert.strictEqual(yield* Effect.promise(() => received), 16 * 1024)
    }))

  // mio: tcp.rs connection_reset_by_peer — linger 0, close: the server reads EOF or a reset
  it.live("connection_reset_by_peer: the server socket is readable; read is 0 or an error", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const client = yield* TcpStream.connect(expectOk(listener.localAddr()))
      assert.isUndefined(client.setLinger(0))
      yield* poll.registry.register(listener, Token(0), Interest.READABLE)
      yield* poll.registry.register(client, Token(1), RW)
      yield* pollUntil(poll, events, (e) => e.token === 0)
      const [server] = expectOk(listener.accept())
      yield* scoped(server)
      client.close()
      // mio sleeps 100 ms here; registering afterwards reports readiness already present.
      yield* poll.registry.register(server, Token(3), Interest.READABLE)
      const e = yield* pollUntil(poll, events, (e) => e.token === 3)
      assert.isTrue(e.isReadable())
      const r = server.read(new Uint8Array(16))
      if (!(r instanceof IoError.IoError)) assert.strictEqual(r, 0, "expected end of stream or an error")
      else expectIoError(r, "ConnectionReset")
    }))

  // mio: tcp.rs connect_error — a refused connect: synchronously, or as a
  // writable/error + write-closed event and a pending error
  it.live("connect_error: refused connect reports write-closed and takeError", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      // A port nobody listens on: bind one, then close it.
      const port = yield* Effect.scoped(Effect.gen(function*() {
        const l = yield* TcpListener.bind("127.0.0.1:0")
        return expectOk(l.localAddr())
      }))
      const stream = TcpStream.connectUnscoped(port)
      if (stream instanceof IoError.IoError) {
        expectIoError(stream, "ConnectionRefused") // failed synchronously
        return
      }
      yield* scoped(stream)
      yield* poll.registry.register(stream, Token(0), Interest.WRITABLE)
      const e = yield* pollUntil(poll, events, (e) => e.token === 0)
      assert.isTrue(e.isWritable() || e.isError(), String(e))
      assert.isTrue(e.isWriteClosed(), String(e))
      expectIoError(stream.takeError(), "ConnectionRefused")
      assert.isUndefined(stream.takeError(), "taking the error clears it")
    }))

  // mio: tcp.rs write_error — after the peer closes, writes end in an error, never 0
  it.live("write_error: writes after the peer closed fail (BrokenPipe or ConnectionReset), never 0", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const s = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(s, Token(0), RW)
      const waitWritable = pollUntil(poll, events, (e) => e.token === 0 && e.isWritable())
      yield* waitWritable
      yield* nodeClose(yield* server.accepted.take)
      const buf = new Uint8Array(1024)
      for (;;) {
        const r = s.write(buf)
        if (r === WouldBlock) {
          yield* waitWritable
          continue
        }
        if (r instanceof IoError.IoError) {
          assert.include(["BrokenPipe", "ConnectionReset"], r.kind, r.message)
          break
        }
        assert.notStrictEqual(r, 0, "unexpected end")
      }
    }))

  // mio: tcp.rs write_shutdown — no events while idle; the peer's shutdown(Write)
  // is readable with read-closed (EPOLLRDHUP)
  it.live("write_shutdown: peer shutdown(Write) → readable + read-closed", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const client = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(client, Token(0), RW)
      const socket = yield* server.accepted.take
      const events = Events.withCapacity(16)
      // mio's wait!: every event seen on the way is not closed
      yield* pollUntil(poll, events, (e) => {
        assert.isFalse(e.isReadClosed() || e.isWriteClosed(), String(e))
        return e.token === 0 && e.isWritable()
      })
      yield* poll.poll(events, 100)
      assert.isTrue(events.isEmpty(), "no events while idle")
      socket.end() // shutdown(Write)
      yield* pollUntil(poll, events, (e) => {
        assert.isTrue(e.isReadClosed(), String(e))
        return e.token === 0 && e.isReadable()
      })
    }))

  // mio: tcp.rs local_addr_ready — the MyHandler state machine
  it.live("local_addr_ready: addresses work on the first events of both ends", () =>
    Effect.gen(function*() {
      const server = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(server.localAddr())
      const poll = yield* Poll.make()
      yield* poll.registry.register(server, LISTEN, Interest.READABLE)
      const sock = yield* TcpStream.connect(addr)
      yield* poll.registry.register(sock, CLIENT, Interest.READABLE)
      const events = Events.withCapacity(1024)
      let accepted: TcpStream.TcpStream | undefined
      let shutdown = false
      const deadline = Date.now() + 5000
      while (!shutdown && Date.now() < deadline) {
        yield* poll.poll(events, 500)
        for (const e of events) {
          switch (e.token) {
            case LISTEN: {
              const [s] = expectOk(server.accept())
              yield* scoped(s)
              yield* poll.registry.register(s, SERVER, Interest.WRITABLE)
              accepted = s
              break
            }
            case SERVER: {
              assert.isDefined(accepted)
              expectOk(accepted!.peerAddr())
              expectOk(accepted!.localAddr())
              expectWritten(accepted!.write(new Uint8Array([1, 2, 3])), 3)
              accepted!.close()
              accepted = undefined
              break
            }
            case CLIENT: {
              expectOk(sock.peerAddr())
              expectOk(sock.localAddr())
              shutdown = true
              break
            }
            default:
              assert.fail(`unexpected token ${e.token}`)
          }
        }
      }
      assert.isTrue(shutdown)
    }))

  for (const variant of ["write_then_drop", "write_then_deregister"] as const) {
    // mio: tcp.rs write_then_drop / write_then_deregister — exact event counts
    it.live(`${variant}: one event per step; the client reads [1, 2, 3, 4]`, () =>
      Effect.gen(function*() {
        const a = yield* TcpListener.bind("127.0.0.1:0")
        const s = yield* TcpStream.connect(expectOk(a.localAddr()))
        const poll = yield* Poll.make()
        yield* poll.registry.register(a, Token(1), Interest.READABLE)
        yield* poll.registry.register(s, Token(3), Interest.READABLE)
        const events = Events.withCapacity(1024)
        let seen = yield* pollNonEmpty(poll, events)
        assert.deepStrictEqual(seen.map((e) => e.token), [1])

        const [s2] = expectOk(a.accept())
        yield* scoped(s2)
        yield* poll.registry.register(s2, Token(2), Interest.WRITABLE)
        seen = yield* pollNonEmpty(poll, events)
        assert.deepStrictEqual(seen.map((e) => e.token), [2])

        expectWritten(s2.write(new Uint8Array([1, 2, 3, 4])), 4)
        if (variant === "write_then_drop") s2.close()
        else yield* poll.registry.deregister(s2)

        yield* poll.registry.reregister(s, Token(3), Interest.READABLE)
        seen = yield* pollNonEmpty(poll, events)
        assert.deepStrictEqual(seen.map((e) => e.token), [3])
        const buf = new Uint8Array(10)
        expectRead(s.read(buf), buf, new Uint8Array([1, 2, 3, 4]))
      }))
  }

  // mio: tcp.rs tcp_no_events_after_deregister
  it.live("tcp_no_events_after_deregister: data still flows, no events come", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(listener.localAddr())
      const stream = yield* TcpStream.connect(addr)
      yield* poll.registry.register(listener, ID1, Interest.READABLE)
      yield* poll.registry.register(stream, ID3, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])

      const [stream2, peer] = expectOk(listener.accept())
      yield* scoped(stream2)
      assert.strictEqual(SocketAddress.format(peer).split(":")[0], "127.0.0.1")
      assert.strictEqual(SocketAddress.format(expectOk(stream2.peerAddr())), SocketAddress.format(peer))
      assert.strictEqual(SocketAddress.format(expectOk(stream2.localAddr())), SocketAddress.format(addr))
      yield* poll.registry.register(stream2, ID2, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["writable"] }])

      expectWritten(stream2.write(new Uint8Array([1, 2, 3, 4])), 4)
      yield* expectEvents(poll, events, [{ token: ID3, readiness: ["readable"] }])

      yield* poll.registry.deregister(listener)
      yield* poll.registry.deregister(stream)
      yield* poll.registry.deregister(stream2)
      yield* expectNoEvents(poll, events)

      const buf = new Uint8Array(10)
      expectRead(stream.read(buf), buf, new Uint8Array([1, 2, 3, 4]))
      expectWritten(stream2.write(new Uint8Array([1, 2, 3, 4])), 4)
      yield* expectNoEvents(poll, events)
      // mio sleeps 200 ms; on loopback the bytes are queued by the time write returns.
      expectRead(stream.read(buf), buf, new Uint8Array([1, 2, 3, 4]))
      yield* expectNoEvents(poll, events)
    }))
})
