/**
 * `Tcp.serve` / `Unix.serve`, the fiber-less connection handlers
 * (src/socket/internal/HandlerServer.ts), over real loopback sockets with
 * node:net clients: echo, backpressure against a reader that stops, an
 * Effect-returning `data` that pauses its connection's reads, failure
 * isolation, 1,000 connections, the send-buffer bound, `end`, Scope close.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TcpStream } from "../../src/net/TcpStream.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import type * as Handler from "../../src/socket/Handler.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"

const portOf = (server: Handler.Server): number => (server.address as unknown as { port: number }).port

/** A node:net client; resolves once connected. */
const dial = (to: number | string): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const c = typeof to === "number" ? net.connect(to, "127.0.0.1") : net.connect(to)
    c.once("connect", () => resolve(c))
    c.once("error", reject)
  })

/** Reads from `c` until `n` bytes came. */
const readBytes = (c: net.Socket, n: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    let got = 0
    const onData = (d: Buffer) => {
      parts.push(d)
      got += d.length
      if (got >= n) {
        c.off("data", onData)
        c.pause()
        resolve(Buffer.concat(parts))
      }
    }
    c.on("data", onData)
    c.once("error", reject)
    c.resume()
  })

const closed = (c: net.Socket): Promise<void> => new Promise((resolve) => c.once("close", () => resolve()))

/** Turns of Node's event loop (the driver runs in them). */
const turns = (n: number) =>
  Effect.promise(async () => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
  })

/** Waits (polling each turn, at most ~5 s) until `cond` holds. */
const until = (cond: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 5000 && !cond(); i++) yield* Effect.sleep(1)
    assert.isTrue(cond(), `waited for ${what}`)
  })

/** Bytes waiting unread in a server-side stream (`MSG_PEEK`). */
const waiting = (stream: TcpStream): number => {
  const r = stream.peek(new Uint8Array(65536))
  return r === WouldBlock || typeof r !== "number" ? 0 : r
}

const echo: Handler.Handler<void, never, never, TcpStream> = { data: (conn, _, bytes) => void conn.write(bytes) }

describe("Tcp.serve", () => {
  checkFdLeaks()

  it.live("echoes to node:net clients, reports End when they close, and counts its connections", () =>
    Effect.gen(function*() {
      const reasons: Array<string> = []
      const server = yield* Tcp.serve("127.0.0.1:0", { ...echo, close: (_c, _s, reason) => reasons.push(reason._tag) })
      const a = yield* Effect.promise(() => dial(portOf(server)))
      const b = yield* Effect.promise(() => dial(portOf(server)))
      a.write("hello")
      b.write("world!")
      assert.strictEqual((yield* Effect.promise(() => readBytes(a, 5))).toString(), "hello")
      assert.strictEqual((yield* Effect.promise(() => readBytes(b, 6))).toString(), "world!")
      assert.strictEqual(server.connections(), 2)
      a.end()
      b.end()
      yield* Effect.promise(() => Promise.all([closed(a), closed(b)]))
      yield* until(() => reasons.length === 2, "two closes")
      assert.deepStrictEqual(reasons, ["End", "End"])
      assert.strictEqual(server.connections(), 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("state from open, bytes in stream order, a greeting written in open", () =>
    Effect.gen(function*() {
      let peer: unknown
      const server = yield* Tcp.serve("127.0.0.1:0", {
        open: (conn) => {
          peer = conn.remoteAddress
          conn.write("hi\n")
          return { total: 0 }
        },
        data: (conn, state, bytes) => {
          state.total += bytes.length
          if (state.total >= 100_000) conn.write(`${state.total}\n`)
        }
      })
      const c = yield* Effect.promise(() => dial(portOf(server)))
      assert.strictEqual((yield* Effect.promise(() => readBytes(c, 3))).toString(), "hi\n")
      assert.strictEqual((peer as { port: number }).port, c.localPort)
      c.write(Buffer.alloc(100_000, 1))
      assert.strictEqual((yield* Effect.promise(() => readBytes(c, 7))).toString(), "100000\n")
      c.destroy()
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a connection that keeps the buffer full yields after maxReadsPerEvent reads and goes on in order", () =>
    Effect.gen(function*() {
      const total = 2 * 1024 * 1024
      const server = yield* Tcp.serve("127.0.0.1:0", {
        open: () => ({ at: 0, bad: -1 }),
        data: (conn, state, bytes) => {
          for (let i = 0; i < bytes.length; i++) if (state.bad < 0 && bytes[i] !== (state.at + i) % 251) state.bad = state.at + i
          state.at += bytes.length
          if (state.at === total) conn.write(`${state.bad}`)
        }
      }, { readSize: 1024, maxReadsPerEvent: 1 })
      const c = yield* Effect.promise(() => dial(portOf(server)))
      c.write(Buffer.from(Array.from({ length: total }, (_, i) => i % 251)))
      assert.strictEqual((yield* Effect.promise(() => readBytes(c, 2))).toString(), "-1")
      c.destroy()
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a connection closed in open is reported once open returned, and its client sees the close", () =>
    Effect.gen(function*() {
      const reasons: Array<string> = []
      const server = yield* Tcp.serve("127.0.0.1:0", {
        open: (conn) => {
          conn.write("bye")
          const before = reasons.length
          conn.close()
          // Reported after open returns, with the state it returns.
          if (reasons.length !== before) throw new Error("close reported inside open")
          return "state"
        },
        data: () => assert.fail("no data on a closed connection"),
        close: (_c, state, r) => reasons.push(`${state} ${r._tag}`)
      })
      for (let i = 0; i < 3; i++) {
        const c = yield* Effect.promise(() => dial(portOf(server)))
        assert.strictEqual((yield* Effect.promise(() => readBytes(c, 3))).toString(), "bye")
        c.resume()
        yield* Effect.promise(() => closed(c))
      }
      assert.deepStrictEqual(reasons, ["state Closed", "state Closed", "state Closed"])
      assert.strictEqual(server.connections(), 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a reader that stops: writes buffer past the high-water mark, reads pause, all bytes arrive in order once it reads", () =>
    Effect.gen(function*() {
      const block = 1024 * 1024
      let calls = 0
      let conn: Handler.Connection<TcpStream> | undefined
      const results: Array<boolean> = []
      const server = yield* Tcp.serve("127.0.0.1:0", {
        open: (c) => void (conn = c),
        data: (c, _, bytes) => {
          calls++
          results.push(c.write(new Uint8Array(block).fill(bytes[0]!)))
        }
      }, { highWaterMark: 64 * 1024, maxSendBuffer: 8 * 1024 * 1024, connection: { sendBufferSize: 16 * 1024 } })
      const c = yield* Effect.promise(() => dial(portOf(server)))
      c.pause()
      c.write("a")
      yield* until(() => calls === 1, "the first data")
      assert.deepStrictEqual(results, [false])
      assert.isAbove(conn!.pendingBytes, 64 * 1024)
      // The next byte reaches the server's socket, and stays there: its reads are paused.
      c.write("b")
      yield* until(() => waiting(conn!.stream) === 1, "b in the server's receive queue")
      yield* turns(20)
      assert.strictEqual(calls, 1)
      const got = yield* Effect.promise(() => readBytes(c, 2 * block))
      assert.strictEqual(got.length, 2 * block)
      assert.isTrue(got.subarray(0, block).every((x) => x === 97))
      assert.isTrue(got.subarray(block).every((x) => x === 98))
      assert.strictEqual(calls, 2)
      c.destroy()
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("an Effect returned by data pauses that connection's reads until it completes; others go on", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      let slow: Handler.Connection<TcpStream> | undefined
      const server = yield* Tcp.serve("127.0.0.1:0", {
        data: (conn, _, bytes) => {
          const text = new TextDecoder().decode(bytes)
          seen.push(text)
          if (text !== "wait") return void conn.write(`re:${text}`)
          slow = conn
          return Effect.andThen(Deferred.await(gate), Effect.sync(() => void conn.write("re:wait")))
        }
      })
      const a = yield* Effect.promise(() => dial(portOf(server)))
      a.write("wait")
      yield* until(() => seen.length === 1, "the first data")
      a.write("next")
      yield* until(() => waiting(slow!.stream) === 4, "next in the server's receive queue")
      // Another connection is served meanwhile.
      const b = yield* Effect.promise(() => dial(portOf(server)))
      b.write("other")
      assert.strictEqual((yield* Effect.promise(() => readBytes(b, 8))).toString(), "re:other")
      assert.deepStrictEqual(seen, ["wait", "other"])
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual((yield* Effect.promise(() => readBytes(a, 14))).toString(), "re:waitre:next")
      a.destroy()
      b.destroy()
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a handler that throws or fails closes only its connection, with HandlerFailed, logged", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const capture = Logger.make(({ logLevel, cause }) => {
        if (logLevel === "Error") logged.push(Cause.pretty(cause))
      })
      const reasons: Array<Handler.CloseReason> = []
      yield* Effect.gen(function*() {
        const server = yield* Tcp.serve("127.0.0.1:0", {
          data: (conn, _, bytes) => {
            const text = new TextDecoder().decode(bytes)
            if (text === "throw") throw new Error("handler threw")
            if (text === "fail") return Effect.fail("bad request")
            return void conn.write(bytes)
          },
          close: (_c, _s, reason) => reasons.push(reason)
        })
        const bad1 = yield* Effect.promise(() => dial(portOf(server)))
        const bad2 = yield* Effect.promise(() => dial(portOf(server)))
        const good = yield* Effect.promise(() => dial(portOf(server)))
        bad1.write("throw")
        bad2.write("fail")
        yield* Effect.promise(() => Promise.all([closed(bad1), closed(bad2)]))
        good.write("still here")
        assert.strictEqual((yield* Effect.promise(() => readBytes(good, 10))).toString(), "still here")
        const late = yield* Effect.promise(() => dial(portOf(server)))
        late.write("new")
        assert.strictEqual((yield* Effect.promise(() => readBytes(late, 3))).toString(), "new")
        good.destroy()
        late.destroy()
        yield* until(() => logged.length === 2, "two logged failures")
      }).pipe(Effect.scoped, Effect.provide(Logger.layer([capture])))
      const failed = reasons.filter((r) => r._tag === "HandlerFailed")
      assert.strictEqual(failed.length, 2)
      assert.include(logged.join("\n"), "handler threw")
      assert.include(logged.join("\n"), "bad request")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("1,000 connections at once, each echoed, then all closed by their clients", () =>
    Effect.gen(function*() {
      const n = 1000
      let ends = 0
      const server = yield* Tcp.serve("127.0.0.1:0", { ...echo, close: (_c, _s, r) => void (r._tag === "End" && ends++) }, { backlog: 1024 })
      const clients = yield* Effect.promise(() => Promise.all(Array.from({ length: n }, () => dial(portOf(server)))))
      const replies = yield* Effect.promise(() =>
        Promise.all(clients.map((c, i) => {
          c.write(`${i}`)
          return readBytes(c, `${i}`.length)
        }))
      )
      replies.forEach((r, i) => assert.strictEqual(r.toString(), `${i}`))
      assert.strictEqual(server.connections(), n)
      for (const c of clients) c.end()
      yield* Effect.promise(() => Promise.all(clients.map(closed)))
      yield* until(() => ends === n, "every close")
      assert.strictEqual(server.connections(), 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 30_000)

  it.live("an Effect that waits on drained between writes sends more than maxSendBuffer to a slow reader", () =>
    Effect.gen(function*() {
      const block = 256 * 1024, blocks = 6
      let reason: string | undefined
      let waits = 0
      const server = yield* Tcp.serve("127.0.0.1:0", {
        data: (conn) =>
          Effect.gen(function*() {
            for (let i = 0; i < blocks; i++) {
              conn.write(new Uint8Array(block).fill(i))
              if (conn.pendingBytes > 0) waits++
              yield* conn.drained
            }
          }),
        close: (_c, _s, r) => void (reason = r._tag)
      }, { maxSendBuffer: block, connection: { sendBufferSize: 16 * 1024 } })
      const c = yield* Effect.promise(() => dial(portOf(server)))
      c.write("go")
      const got = yield* Effect.promise(() => readBytes(c, blocks * block))
      assert.strictEqual(got.length, blocks * block)
      for (let i = 0; i < blocks; i++) assert.isTrue(got.subarray(i * block, (i + 1) * block).every((x) => x === i))
      assert.isAbove(waits, 0)
      assert.isUndefined(reason)
      c.destroy()
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("writes past maxSendBuffer close the connection with SendBufferOverflow", () =>
    Effect.gen(function*() {
      let reason: Handler.CloseReason | undefined
      const server = yield* Tcp.serve("127.0.0.1:0", {
        data: (conn) => {
          for (let i = 0; i < 64 && conn.isOpen; i++) conn.write(new Uint8Array(16 * 1024))
        },
        close: (_c, _s, r) => void (reason = r)
      }, { highWaterMark: 16 * 1024, maxSendBuffer: 128 * 1024, connection: { sendBufferSize: 16 * 1024 } })
      const c = yield* Effect.promise(() => dial(portOf(server)))
      c.pause()
      c.write("x")
      yield* until(() => reason !== undefined, "the close")
      assert.deepStrictEqual(reason, { _tag: "SendBufferOverflow", limit: 128 * 1024 })
      c.destroy()
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("end sends what is buffered, then FIN; the connection closes when the client ends too", () =>
    Effect.gen(function*() {
      let reason: string | undefined
      const server = yield* Tcp.serve("127.0.0.1:0", {
        data: (conn) => {
          conn.write(new Uint8Array(3 * 1024 * 1024).fill(7))
          conn.end()
          assert.isFalse(conn.write("late"))
        },
        close: (_c, _s, r) => void (reason = r._tag)
      }, { maxSendBuffer: 4 * 1024 * 1024 })
      const c = yield* Effect.promise(() => dial(portOf(server)))
      const got = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          let n = 0
          c.on("data", (d: Buffer) => (n += d.length))
          c.on("end", () => resolve(n))
          c.write("go")
        })
      )
      assert.strictEqual(got, 3 * 1024 * 1024)
      yield* Effect.promise(() => closed(c))
      yield* until(() => reason !== undefined, "the close")
      assert.strictEqual(reason, "End")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("closing the Scope closes every connection (ServerClosed) and interrupts a running Effect; no fd stays", () =>
    Effect.gen(function*() {
      const reasons: Array<string> = []
      let interrupted = 0
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(scope)(Tcp.serve("127.0.0.1:0", {
        data: (conn, _, bytes) =>
          bytes[0] === 0x21 ? Effect.onInterrupt(Effect.never, () => Effect.sync(() => interrupted++)) : void conn.write(bytes),
        close: (_c, _s, r) => reasons.push(r._tag)
      }))
      const clients = yield* Effect.promise(() => Promise.all([1, 2, 3].map(() => dial(portOf(server)))))
      clients[0]!.write("!")
      clients[1]!.write("x")
      yield* Effect.promise(() => readBytes(clients[1]!, 1))
      yield* until(() => server.connections() === 3, "three connections")
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(reasons, ["ServerClosed", "ServerClosed", "ServerClosed"])
      assert.strictEqual(interrupted, 1)
      yield* Effect.promise(() => Promise.all(clients.map(closed)))
      // Nothing listens any more.
      const refused = yield* Effect.promise(() => dial(portOf(server)).then(() => false, () => true))
      assert.isTrue(refused)
    }).pipe(Effect.provide(Reactor.layer)))

  it.effect("a bad handler or option fails with SocketServerOpenError naming it", () =>
    Effect.gen(function*() {
      const e1 = yield* Effect.flip(Tcp.serve("127.0.0.1:0", {} as never))
      assert.include(e1.message, "handler.data is a function")
      const e2 = yield* Effect.flip(Tcp.serve("127.0.0.1:0", echo, { highWaterMark: 0 }))
      assert.include(e2.message, "highWaterMark")
      const e3 = yield* Effect.flip(Tcp.serve("127.0.0.1:0", echo, { highWaterMark: 4096, maxSendBuffer: 1024 }))
      assert.include(e3.message, "at most maxSendBuffer")
      assert.strictEqual(e3.reason._tag, "SocketServerOpenError")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("Unix.serve", () => {
  checkFdLeaks()

  it.live("echoes over a path, which it unlinks when the Scope closes", () =>
    Effect.gen(function*() {
      const path = join(tmpdir(), `effect-mio-serve-${process.pid}.sock`)
      yield* Effect.gen(function*() {
        yield* Unix.serve(path, { data: (conn, _, bytes) => void conn.write(bytes) }, { maxReadsPerEvent: 4, highWaterMark: 4096 })
        const c = yield* Effect.promise(() => dial(path))
        c.write("over unix")
        assert.strictEqual((yield* Effect.promise(() => readBytes(c, 9))).toString(), "over unix")
        c.destroy()
        yield* Effect.promise(() => closed(c))
      }).pipe(Effect.scoped)
      const refused = yield* Effect.promise(() => dial(path).then(() => false, () => true))
      assert.isTrue(refused)
    }).pipe(Effect.provide(Reactor.layer)))
})
