/**
 * The Dccp API over real sockets on loopback: our client and our server over
 * DCCP-UDP (RFC 6773) and over raw IP (protocol 33).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
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

for (const transport of ["udp", "raw"] as const) {
  describe(`Dccp over ${transport} with CCID 3`, () => {
    checkFdLeaks()

    it.live("echo with CCID 3 both ways; info reports the TFRC state of both half-connections", () =>
      Effect.gen(function*() {
        const port = 21000 + (process.pid % 20000)
        const server = yield* Dccp.listen({ address: transport === "udp" ? "127.0.0.1:0" : `127.0.0.1:${port}`, serviceCodes: [42], transport })
        const serving = yield* echo(server)
        const target = transport === "udp" ? SocketAddress.format(server.address) : `127.0.0.1:${server.port}`
        yield* Effect.scoped(Effect.gen(function*() {
          const socket = yield* Dccp.connect({ address: target, serviceCode: 42, transport, ccid: 3 })
          for (let i = 0; i < 30; i++) {
            yield* socket.send(`tfrc ${i}`)
            assert.strictEqual(decoder.decode(yield* socket.recv), `tfrc ${i}`)
          }
          const info = yield* socket.info
          assert.strictEqual(info.txCcid, 3)
          assert.strictEqual(info.rxCcid, 3)
          assert.isUndefined(info.cwnd)
          const tx = info.tfrcTx!
          assert.isAbove(tx.x, 0)
          assert.strictEqual(tx.p, 0)
          assert.isAbove(tx.rttMs, 0)
          assert.isBelow(tx.rttMs, 100)
          // max(4R, 200 ms): 200 ms on an idle loopback, 4R when a loaded machine stretches R past 50 ms.
          assert.closeTo(tx.rtoMs, Math.max(4 * tx.rttMs, 200), 1e-6, "t_RTO is max(4R, 200 ms)")
          // t_ipi = s/X, s the mean payload of "tfrc 0" … "tfrc 29" (6 to 7 bytes).
          const s = (tx.ipiMs * tx.x) / 1000
          assert.isAtLeast(s, 6)
          assert.isAtMost(s, 7)
          assert.isAbove(tx.xRecv, 0)
          const rx = info.tfrcRx!
          assert.strictEqual(rx.p, 0)
          assert.isAbove(rx.xRecv, 0)
          assert.strictEqual(info.rttMs, tx.rttMs)
          yield* socket.close
        }))
        yield* Fiber.interrupt(serving)
      }).pipe(Effect.provide(Reactor.layer)))
  })
}

describe("Dccp over udp: CCID preferences", () => {
  checkFdLeaks()

  it.live("a server's preference list wins; CCID 3 one way and CCID 2 the other", () =>
    Effect.gen(function*() {
      const prefers3 = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], ccid: [3, 2] })
      const servingA = yield* echo(prefers3)
      const a = yield* Dccp.connect({ address: SocketAddress.format(prefers3.address), serviceCode: 42, ccid: [2, 3] })
      yield* a.send("a")
      assert.strictEqual(decoder.decode(yield* a.recv), "a")
      const ia = yield* a.info
      assert.deepStrictEqual([ia.txCcid, ia.rxCcid], [3, 3])

      const plain = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
      const servingB = yield* echo(plain)
      const b = yield* Dccp.connect({ address: SocketAddress.format(plain.address), serviceCode: 42, txCcid: 3, rxCcid: 2 })
      for (let i = 0; i < 10; i++) {
        yield* b.send(`mixed ${i}`)
        assert.strictEqual(decoder.decode(yield* b.recv), `mixed ${i}`)
      }
      const ib = yield* b.info
      assert.deepStrictEqual([ib.txCcid, ib.rxCcid], [3, 2])
      assert.isDefined(ib.tfrcTx)
      assert.isUndefined(ib.tfrcRx)
      yield* Fiber.interrupt(servingA)
      yield* Fiber.interrupt(servingB)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a client that requires a CCID the server does not offer fails at once, and the error says what to change", () =>
    Effect.gen(function*() {
      const only2 = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], ccid: 2 })
      const serving = yield* echo(only2)
      const exit = yield* Effect.exit(Effect.scoped(Dccp.connect({ address: SocketAddress.format(only2.address), serviceCode: 42, ccid: 3 })))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
      assert.strictEqual(error?.resetCode, 6)
      assert.include(error?.detail ?? "", "no value in common")
      assert.include(error?.detail ?? "", "`ccid`")
      yield* Fiber.interrupt(serving)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

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

  it.live("bad input: service codes, ports, kernel DCCP on this kernel", () =>
    Effect.gen(function*() {
      for (const [options, kind] of [
        [{ address: "127.0.0.1:1", serviceCode: "TOOLONG" }, "InvalidInput"],
        [{ address: "127.0.0.1:1", serviceCode: -1 }, "InvalidInput"],
        [{ address: "not an address", serviceCode: 1 }, "InvalidInput"],
        [{ address: "127.0.0.1:1", serviceCode: 1, transport: "kernel" }, "Unsupported"]
      ] as const) {
        const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect(options as Dccp.ConnectOptions))))
        assert.strictEqual(e.kind, kind, JSON.stringify(options))
      }
      const e = failure(yield* Effect.exit(Effect.scoped(Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [] }))))
      assert.strictEqual(e.kind, "InvalidInput")
    }).pipe(Effect.provide(Reactor.layer)))
})

describe("Dccp over udp: the listener's end (issue 8, defect 4)", () => {
  checkFdLeaks()

  it.live("accept and run fail with Closed once the listener's Scope closed; connections nobody accepted are aborted", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] }).pipe(Scope.provide(scope))
      // A connection completes its handshake and waits in the backlog; nobody accepts it.
      const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42 })
      const waiting = yield* Effect.forkChild(Effect.scoped(server.accept).pipe(Effect.andThen(server.accept), Effect.scoped))
      yield* Effect.yieldNow
      yield* Scope.close(scope, Exit.void)
      const pending = yield* Effect.exit(Fiber.join(waiting))
      assert.strictEqual(failure(pending).kind, "Closed")
      assert.strictEqual(failure(yield* Effect.exit(Effect.scoped(server.accept))).kind, "Closed")
      assert.strictEqual(failure(yield* Effect.exit(server.run(() => Effect.void))).kind, "Closed")
      // The client's connection was aborted by the listener, not left open.
      const end = yield* Effect.exit(client.recv.pipe(Effect.timeout("5 seconds")))
      assert.isTrue(Exit.isFailure(end))
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("Dccp: invalid options are typed errors naming the option (issue 8, defect 5)", () => {
  checkFdLeaks()

  it.live("connect and listen refuse every bad option with InvalidInput, before opening anything", () =>
    Effect.gen(function*() {
      const base = { address: "127.0.0.1:1", serviceCode: 1 }
      const connectCases: Array<[Record<string, unknown>, RegExp]> = [
        [{ connectTimeout: "garbage" }, /connectTimeout is a finite, non-negative duration .* not "garbage"/],
        [{ connectTimeout: Number.NaN }, /connectTimeout .* not NaN/],
        [{ timewait: "soon" }, /timewait .* not "soon"/],
        [{ closeTimeout: {} }, /closeTimeout .* not \{\}/],
        [{ closeTimeout: -5 }, /closeTimeout .* not -5/],
        [{ transport: "quic" }, /transport is "udp", "raw" or "kernel", not "quic"/],
        [{ receiveQueue: 0 }, /receiveQueue is an integer from 1 to 1048576, not 0/],
        [{ receiveQueue: -1 }, /receiveQueue .* not -1/],
        [{ receiveQueue: Number.NaN }, /receiveQueue .* not NaN/],
        [{ queuePolicy: "fifo" }, /queuePolicy is "simple" or "prio", not "fifo"/],
        [{ ccid: 7 }, /ccid is 2, 3 or a preference list of them such as \[3, 2\], not 7/],
        [{ ccid: [3, 3] }, /ccid is 2, 3 or a preference list of them .*, not \[3,3\]/],
        [{ ccid: [] }, /ccid .* not \[\]/],
        [{ txCcid: "3" }, /txCcid .* not "3"/],
        [{ rxCcid: [2, 4] }, /rxCcid .* not \[2,4\]/],
        [{ dccpPort: 70000 }, /dccpPort is an integer from 1 to 65535, not 70000/],
        [{ random: 4 }, /random is a function, not 4/]
      ]
      for (const [extra, message] of connectCases) {
        const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect({ ...base, ...extra } as unknown as Dccp.ConnectOptions))))
        assert.strictEqual(e.kind, "InvalidInput", JSON.stringify(extra))
        assert.match(e.detail, message)
      }
      const listenBase = { address: "127.0.0.1:0", serviceCodes: [1] }
      const listenCases: Array<[Record<string, unknown>, RegExp]> = [
        [{ backlog: -1 }, /backlog is an integer from 1 to 1048576, not -1/],
        [{ backlog: Number.NaN }, /backlog .* not NaN/],
        [{ backlog: 0 }, /backlog .* not 0/],
        [{ receiveQueue: Number.NaN }, /receiveQueue .* not NaN/],
        [{ timewait: "garbage" }, /timewait .* not "garbage"/],
        [{ serverTimewait: "yes" }, /serverTimewait is true or false, not "yes"/],
        [{ transport: "quic" }, /transport .* not "quic"/],
        [{ serviceCodes: "ECHO" }, /serviceCodes is an array/]
      ]
      for (const [extra, message] of listenCases) {
        const e = failure(yield* Effect.exit(Effect.scoped(Dccp.listen({ ...listenBase, ...extra } as unknown as Dccp.ListenOptions))))
        assert.strictEqual(e.kind, "InvalidInput", JSON.stringify(extra))
        assert.match(e.detail, message)
      }
    }).pipe(Effect.provide(Reactor.layer)))
})
