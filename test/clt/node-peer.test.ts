/**
 * Peers we did not write through our framer: a node:net server and a node:net
 * client that frame by hand (u16 big-endian length, type byte, fields) talk to a
 * Clt and a Svc, in both directions, with frames split across writes.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import * as Clt from "../../src/clt/Clt.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Svc from "../../src/svc/Svc.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { codec, framer, type Message } from "./fixtures.ts"

/** Frames parsed by hand from a byte stream. */
const handSplitter = () => {
  let buf = Buffer.alloc(0)
  return (chunk: Buffer): Array<Buffer> => {
    buf = Buffer.concat([buf, chunk])
    const out: Array<Buffer> = []
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const n = buf.readUInt16BE(0)
      out.push(buf.subarray(2, 2 + n))
      buf = buf.subarray(2 + n)
    }
    return out
  }
}

const pongFrame = (n: number): Buffer => {
  const b = Buffer.alloc(2 + 5)
  b.writeUInt16BE(5, 0)
  b.write("Q", 2, "latin1")
  b.writeUInt32BE(n, 3)
  return b
}

const pingFrame = (n: number, text: string): Buffer => {
  const b = Buffer.alloc(2 + 13)
  b.writeUInt16BE(13, 0)
  b.write("P", 2, "latin1")
  b.writeUInt32BE(n, 3)
  b.write(text.padEnd(8, " "), 7, "latin1")
  return b
}

/** Writes `bytes` one small piece at a time (partial frames on the wire). */
const dribble = (socket: net.Socket, bytes: Buffer) => {
  for (let i = 0; i < bytes.length; i += 3) socket.write(bytes.subarray(i, i + 3))
}

describe("Clt and Svc with hand-framing node:net peers", () => {
  checkFdLeaks()

  it.live("a Clt against a node:net server: requests out, replies and pushes in", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const server = net.createServer((socket) => {
        socket.setNoDelay(true)
        // the server speaks first: a Pong pushed before any request
        dribble(socket, pongFrame(999))
        const split = handSplitter()
        socket.on("data", (chunk) => {
          for (const f of split(chunk)) {
            const type = String.fromCharCode(f[0]!)
            const n = f.readUInt32BE(1)
            const text = f.subarray(5, 13).toString("latin1")
            seen.push(`${type} ${n} [${text}]`)
            if (type === "P") dribble(socket, pongFrame(n * 2))
          }
        })
        socket.on("error", () => {})
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const port = (server.address() as net.AddressInfo).port
      const clt = yield* Clt.connect({ address: `127.0.0.1:${port}`, codec, framer, name: "to-node" })
      assert.deepStrictEqual(yield* clt.recv, { _tag: "Pong", n: 999 })
      for (let i = 1; i <= 20; i++) {
        yield* clt.send({ _tag: "Ping", n: i, text: `req${i}` })
        assert.deepStrictEqual(yield* clt.recv, { _tag: "Pong", n: 2 * i })
      }
      assert.strictEqual(seen.length, 20)
      assert.strictEqual(seen[0], "P 1 [req1    ]")
      assert.strictEqual(seen[19], "P 20 [req20   ]")
      yield* clt.close
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("a node:net client against a Svc: requests in, replies out", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer, name: "from-node" })
      yield* Effect.forkScoped(svc.messages.pipe(
        Stream.runForEach(({ from, message }) => message._tag === "Ping" ? Effect.ignore(svc.send(from, { _tag: "Pong", n: message.n + 1 })) : Effect.void)
      ))
      const port = (svc.address as { port: number }).port
      const socket = yield* Effect.acquireRelease(
        Effect.sync(() => net.connect({ port, host: "127.0.0.1", noDelay: true })),
        (socket) => Effect.callback<void>((resume) => {
          socket.once("close", () => resume(Effect.void))
          socket.destroy()
        })
      )
      const replies = yield* Effect.callback<Array<Message | string>>((resume) => {
        const got: Array<Message | string> = []
        const split = handSplitter()
        socket.on("connect", () => {
          for (let i = 0; i < 10; i++) dribble(socket, pingFrame(i, "hand"))
        })
        socket.on("data", (chunk) => {
          for (const f of split(chunk)) {
            got.push(f[0] === 0x51 && f.length === 5 ? { _tag: "Pong", n: f.readUInt32BE(1) } : `unexpected ${f.toString("hex")}`)
            if (got.length === 10) resume(Effect.succeed(got))
          }
        })
        socket.on("error", (e) => resume(Effect.die(e)))
      })
      assert.deepStrictEqual(replies, Array.from({ length: 10 }, (_, i) => ({ _tag: "Pong", n: i + 1 })))
    }).pipe(Effect.provide(Reactor.layer)))
})
