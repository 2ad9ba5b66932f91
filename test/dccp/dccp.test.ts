/**
 * The Dccp API over real sockets on loopback: our client and our server over
 * DCCP-UDP (RFC 6773) and over raw IP (protocol 33).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Dccp from "../../src/dccp/Dccp.ts"
import type { DccpError } from "../../src/dccp/DccpError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

const decoder = new TextDecoder()

const failure = <A>(exit: Exit.Exit<A, DccpError>): DccpError => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const r = Exit.isFailure(exit) ? exit.cause.reasons.find((x) => x._tag === "Fail") : undefined
  assert.isTrue(r !== undefined && r._tag === "Fail", "a typed failure")
  return (r as { readonly error: DccpError }).error
}

/** An echo server: each datagram back as it came. */
const echo = (server: Dccp.DccpServer) =>
  Effect.forkChild(server.run((socket) =>
    Effect.gen(function*() {
      while (true) yield* socket.send(yield* socket.recv)
    }).pipe(Effect.catchIf((e) => e.kind === "Closed", () => Effect.void))
  ))

for (const transport of ["udp", "raw"] as const) {
  describe(`Dccp over ${transport}`, () => {
    checkFdLeaks()

    it.live("handshake, echo both ways, info, graceful close", () =>
      Effect.gen(function*() {
        const port = 20000 + (process.pid % 20000)
        const server = yield* Dccp.listen({ address: transport === "udp" ? "127.0.0.1:0" : `127.0.0.1:${port}`, serviceCodes: [42, "ECHO"], transport })
        const serving = yield* echo(server)
        const target = transport === "udp" ? SocketAddress.format(server.address) : `127.0.0.1:${server.port}`
        const replies = yield* Effect.scoped(Effect.gen(function*() {
          const socket = yield* Dccp.connect({ address: target, serviceCode: "ECHO", transport })
          const out: Array<string> = []
          for (let i = 0; i < 20; i++) {
            yield* socket.send(`datagram ${i}`)
            out.push(decoder.decode(yield* socket.recv))
          }
          const info = yield* socket.info
          assert.strictEqual(info.state, "OPEN")
          assert.strictEqual(info.txCcid, 2)
          assert.isAbove(info.mps, 1000)
          assert.isTrue(info.rttMs === undefined || info.rttMs >= 0)
          yield* socket.close
          return out
        }))
        assert.deepStrictEqual(replies, Array.from({ length: 20 }, (_, i) => `datagram ${i}`))
        yield* Fiber.interrupt(serving)
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("a service code the server does not offer is refused with Reset(Bad Service Code)", () =>
      Effect.gen(function*() {
        const port = 20001 + (process.pid % 20000)
        const server = yield* Dccp.listen({ address: transport === "udp" ? "127.0.0.1:0" : `127.0.0.1:${port}`, serviceCodes: [42], transport })
        const target = transport === "udp" ? SocketAddress.format(server.address) : `127.0.0.1:${server.port}`
        const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect({ address: target, serviceCode: 7, transport }))))
        assert.strictEqual(e.kind, "BadServiceCode")
        assert.strictEqual(e.resetCode, 8)
      }).pipe(Effect.provide(Reactor.layer)))
  })
}

describe("Dccp over udp: a receiver that falls behind", () => {
  checkFdLeaks()

  it.live("datagrams its full receive queue cannot take are reported with Data Dropped (Receive Buffer) and the sender backs off", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], receiveQueue: 8 })
      const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42 })
      const accepted = yield* server.accept
      // The application on the server side reads nothing while the client sends.
      for (let i = 0; i < 200; i++) yield* client.send(new Uint8Array(100).fill(i))
      yield* Effect.sleep(100)
      const receiver = yield* accepted.info
      assert.isAbove(receiver.receiveDropped, 0)
      assert.strictEqual(receiver.stats.dataDropped[2], receiver.receiveDropped, "each dropped datagram is reported as Receive Buffer")
      const sender = yield* client.info
      assert.isAbove(sender.lossEvents, 0, "the sender took the receive-buffer drops as congestion")
      // What the queue took is intact and in order.
      const first = yield* accepted.recv
      assert.strictEqual(first[0], 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("Dccp over udp: kernel buffer sizes", () => {
  checkFdLeaks()

  it.live("are applied to the transport socket, and invalid ones are refused with a typed error", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], kernelReceiveBufferSize: 1 << 20, kernelSendBufferSize: 1 << 19 })
      const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42, kernelReceiveBufferSize: 1 << 20 })
      const accepted = yield* server.accept
      yield* client.send("sized")
      assert.strictEqual(decoder.decode(yield* accepted.recv), "sized")
      const e = failure(yield* Effect.exit(Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], kernelReceiveBufferSize: -1 })))
      assert.strictEqual(e.kind, "InvalidInput")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("Dccp over udp: refusals", () => {
  checkFdLeaks()

  it.live("a UDP port with nothing bound: ICMP port unreachable refuses the connect at once", () =>
    Effect.gen(function*() {
      const closed = yield* UdpSocket.bind("127.0.0.1:0")
      const addr = SocketAddress.format(closed.localAddr() as SocketAddress.SocketAddress)
      closed.close()
      const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect({ address: addr, serviceCode: 42 }))))
      assert.strictEqual(e.kind, "ConnectionRefused")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("a DCCP-UDP endpoint without a listener on that DCCP port answers Reset(No Connection)", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
      const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect({
        address: SocketAddress.format(server.address),
        dccpPort: 9,
        serviceCode: 42
      }))))
      assert.strictEqual(e.kind, "ConnectionRefused")
      assert.strictEqual(e.resetCode, 3)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("bad input: service codes, ports, CCID 3, kernel DCCP on this kernel", () =>
    Effect.gen(function*() {
      for (const [options, kind] of [
        [{ address: "127.0.0.1:1", serviceCode: "TOOLONG" }, "InvalidInput"],
        [{ address: "127.0.0.1:1", serviceCode: -1 }, "InvalidInput"],
        [{ address: "not an address", serviceCode: 1 }, "InvalidInput"],
        [{ address: "127.0.0.1:1", serviceCode: 1, ccid: 3 }, "Unsupported"],
        [{ address: "127.0.0.1:1", serviceCode: 1, transport: "kernel" }, "Unsupported"]
      ] as const) {
        const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect(options as Dccp.ConnectOptions))))
        assert.strictEqual(e.kind, kind, JSON.stringify(options))
      }
      const e = failure(yield* Effect.exit(Effect.scoped(Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [] }))))
      assert.strictEqual(e.kind, "InvalidInput")
    }).pipe(Effect.provide(Reactor.layer)))
})
