/**
 * Writes of one turn leave as one send (issue 12): the first write of a turn
 * goes straight to the socket, later ones are staged and sent when the turn
 * ends. Checked on real Unix and TCP connections to node:net peers; the send
 * count comes from a wrapper around the real stream that counts its calls
 * (and, for the error case, fails one).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as net from "node:net"
import * as IoError from "../../src/IoError.ts"
import * as UnixStream from "../../src/net/UnixStream.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as StreamSocket from "../../src/socket/internal/StreamSocket.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { nodeReadAll, nodeServer, tempPath, turn } from "../util/peer.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const record = (i: number): string => `<${String(i).padStart(4, "0")}>`

/** A real Unix stream to a node:net server, wrapped so that its sends are counted (and one can be failed). */
const countedSocket = Effect.gen(function*() {
  const server = yield* nodeServer(tempPath("coalesce"), { unix: true })
  const stream = yield* UnixStream.connect(server.address)
  const registration = yield* Reactor.register(stream)
  const counts: { sends: number; fail: boolean; limit: number | undefined } = { sends: 0, fail: false, limit: undefined }
  const io = new Proxy(stream, {
    get(target, key) {
      if (key === "write" || key === "writev") {
        return (arg: Uint8Array & ReadonlyArray<Uint8Array>) => {
          counts.sends++
          if (counts.fail) {
            counts.fail = false
            return IoError.make("BrokenPipe", key === "write" ? "send" : "writev", "injected by the test")
          }
          const limit = counts.limit
          if (limit !== undefined && key === "write" && arg.length > limit) {
            // The socket takes only part of this send (as when its buffer is nearly full).
            counts.limit = undefined
            return target.write(arg.subarray(0, limit))
          }
          return key === "write" ? target.write(arg) : target.writev(arg)
        }
      }
      const value = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
  const conn = new StreamSocket.Connection(io, registration)
  const socket = StreamSocket.make(Effect.succeed(conn), { reconnects: false, initial: conn })
  const peer = yield* server.accepted.take
  return { socket, peer, counts }
})

describe("writes of one turn are coalesced", () => {
  checkFdLeaks()

  it.live("a lone write goes straight to the socket", () =>
    Effect.gen(function*() {
      const { counts, peer, socket } = yield* countedSocket
      const writer = yield* socket.writer
      const got = Effect.promise(() => new Promise<string>((resolve) => peer.once("data", (d: Buffer) => resolve(d.toString()))))
      yield* writer.write("alone")
      assert.strictEqual(counts.sends, 1, "sent before the write completed, not at the turn's end")
      assert.strictEqual(yield* got, "alone")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a write that answers a read goes straight to the socket, within the turn too", () =>
    Effect.gen(function*() {
      const { counts, peer, socket } = yield* countedSocket
      const reader = yield* socket.reader
      const writer = yield* socket.writer
      peer.write("ping")
      yield* Effect.sleep("20 millis")
      // One turn, no suspension: a write, a pull that finds the peer's bytes, the answer, one more write.
      yield* writer.write("request")
      const got = (yield* reader.pull)[0]
      assert.strictEqual(typeof got === "string" ? got : decoder.decode(got), "ping")
      yield* writer.write("answer")
      assert.strictEqual(counts.sends, 2, "the answer was sent at once")
      yield* writer.write("later")
      assert.strictEqual(counts.sends, 2, "a write after the answer in the same turn is staged")
      yield* turn
      assert.strictEqual(counts.sends, 3)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("writes of 200 fibers in one turn arrive whole and in write order, in two sends", () =>
    Effect.gen(function*() {
      const { counts, peer, socket } = yield* countedSocket
      const received = yield* Effect.forkChild(nodeReadAll(peer))
      const order: Array<number> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* socket.writer
        const ids = Array.from({ length: 200 }, (_, i) => i)
        yield* Effect.forEach(ids, (i) =>
          Effect.suspend(() => {
            order.push(i)
            return writer.write(encoder.encode(record(i)))
          }), { concurrency: "unbounded", discard: true })
        yield* turn
        assert.strictEqual(counts.sends, 2, "the turn's first write, then the other 199 as one send")
      }))
      assert.strictEqual(decoder.decode(yield* Fiber.join(received)), order.map(record).join(""))
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("text writes are encoded into the stage: UTF-8 whole, in order with byte writes, past a full stage", () =>
    Effect.gen(function*() {
      const { counts, peer, socket } = yield* countedSocket
      const received = yield* Effect.forkChild(nodeReadAll(peer))
      // 3- and 4-byte characters, ~12 KiB per line: six lines overflow the 64 KiB stage.
      const line = (i: number) => `{"i":${i},"s":"${"é€😀".repeat(1200)}"}\n`
      const expected: Array<string> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* socket.writer
        yield* writer.write("first\n")
        expected.push("first\n")
        for (let i = 0; i < 8; i++) {
          yield* writer.write(line(i))
          expected.push(line(i))
          if (i === 3) {
            yield* writer.write(encoder.encode("bytes\n"))
            expected.push("bytes\n")
          }
        }
        assert.isAbove(counts.sends, 1, "the stage overflowed and left with the write that did not fit")
        assert.isBelow(counts.sends, 5, "the lines were staged, not sent one by one")
        yield* turn
      }))
      assert.strictEqual(decoder.decode(yield* Fiber.join(received)), expected.join(""))
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a write too big to stage leaves at once, after what is staged, in order", () =>
    Effect.gen(function*() {
      const { counts, peer, socket } = yield* countedSocket
      const received = yield* Effect.forkChild(nodeReadAll(peer))
      const big = new Uint8Array(40_000).fill(0x62)
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* socket.writer
        yield* writer.write("first")
        yield* writer.write("staged")
        assert.strictEqual(counts.sends, 1)
        yield* writer.write(big)
        assert.strictEqual(counts.sends, 2, "the staged bytes and the big write left together")
        yield* writer.write("last")
      }))
      assert.strictEqual(decoder.decode(yield* Fiber.join(received)), "firststaged" + "b".repeat(40_000) + "last")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a failed send of staged bytes is reported by the next write", () =>
    Effect.gen(function*() {
      const { counts, socket } = yield* countedSocket
      const writer = yield* socket.writer
      yield* writer.write("first")
      yield* writer.write("staged")
      counts.fail = true
      yield* turn
      const exit = yield* Effect.exit(writer.write("next"))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const reason = (error as { error: Socket.SocketError } | undefined)?.error.reason
      assert.strictEqual(reason?._tag, "SocketWriteError")
      assert.strictEqual((reason?.cause as IoError.IoError).kind, "BrokenPipe")
      yield* writer.write("after")
      assert.strictEqual(counts.sends, 3, "the failure was reported once; the write after it was sent")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("the rest of a stage the socket took only part of is written before later writes", () =>
    Effect.gen(function*() {
      const { counts, peer, socket } = yield* countedSocket
      const received = yield* Effect.forkChild(nodeReadAll(peer))
      const part = (c: string) => c.repeat(10_000)
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* socket.writer
        yield* writer.write("first,")
        for (const c of "xyz") yield* writer.write(part(c))
        counts.limit = 1000
        yield* turn
        yield* writer.write(",after")
      }))
      assert.strictEqual(decoder.decode(yield* Fiber.join(received)), "first," + part("x") + part("y") + part("z") + ",after")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("staged bytes are sent before the writer's release shuts the write half", () =>
    Effect.gen(function*() {
      const { peer, socket } = yield* countedSocket
      const received = yield* Effect.forkChild(nodeReadAll(peer))
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* socket.writer
        yield* writer.write("one,")
        yield* writer.write("two,")
        yield* writer.write("three")
      }))
      assert.strictEqual(decoder.decode(yield* Fiber.join(received)), "one,two,three")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("staged bytes are sent before a CloseEvent ends the connection", () =>
    Effect.gen(function*() {
      const { peer, socket } = yield* countedSocket
      const received = yield* Effect.forkChild(nodeReadAll(peer))
      const writer = yield* socket.writer
      yield* writer.write("one,")
      yield* writer.write("two")
      yield* writer.write(new Socket.CloseEvent(1000))
      assert.strictEqual(decoder.decode(yield* Fiber.join(received)), "one,two")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a server handler's staged writes reach the client before its connection closes", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const fiber = yield* Effect.forkChild(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const writer = yield* socket.writer
          for (let i = 0; i < 50; i++) yield* writer.write(record(i))
        })).pipe(Effect.ignore)
      ))
      const port = (server.address as { port: number }).port
      const got = yield* Effect.promise(() =>
        new Promise<string>((resolve, reject) => {
          const chunks: Array<Buffer> = []
          const c = net.connect(port, "127.0.0.1")
          c.on("data", (d: Buffer) => chunks.push(d))
          c.on("close", () => resolve(Buffer.concat(chunks).toString()))
          c.on("error", reject)
        })
      )
      assert.strictEqual(got, Array.from({ length: 50 }, (_, i) => record(i)).join(""))
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a megabyte from 64 concurrent writers arrives in order while the peer reads slowly (backpressure)", () =>
    Effect.gen(function*() {
      const { peer, socket } = yield* countedSocket
      const received = yield* Effect.forkChild(nodeReadAll(peer))
      peer.pause()
      const scope = yield* Scope.make()
      const writer = yield* socket.writer.pipe(Scope.provide(scope))
      const order: Array<number> = []
      const chunk = (i: number) => new Uint8Array(1000 + (i % 7) * 1000).fill(i % 251)
      const writing = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 256 }, (_, i) => i), (i) =>
        Effect.suspend(() => {
          order.push(i)
          return writer.write(chunk(i))
        }), { concurrency: 64, discard: true }))
      yield* Effect.sleep("20 millis")
      peer.resume()
      yield* Fiber.join(writing)
      yield* Scope.close(scope, Exit.void)
      const got = yield* Fiber.join(received)
      const want = new Uint8Array(order.reduce((n, i) => n + chunk(i).length, 0))
      let at = 0
      for (const i of order) {
        want.set(chunk(i), at)
        at += chunk(i).length
      }
      assert.strictEqual(got.length, want.length)
      assert.isTrue(Buffer.from(got).equals(Buffer.from(want)), "every byte, in the order the writes were made")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
