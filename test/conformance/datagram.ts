/**
 * Conformance of a datagram transport to `effect/socket`'s `DatagramSocket`
 * contract. The bodies use only Effect's interfaces, so the same suite runs
 * on `MemoryDatagram` and on the real UDP adapter:
 *
 * ```ts
 * runDatagramConformance("Udp", Effect.succeed({
 *   make: (options) => Udp.make({ bind: { address: "127.0.0.1", port: 0 }, ...options }).pipe(
 *     Effect.provide(Reactor.layer)
 *   )
 * }), { live: true })
 * ```
 *
 * Every socket the target makes must bind an address the others can reach
 * (loopback for a real adapter). The bodies assume no loss and no
 * reordering between two local sockets; none sleeps.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import type { ConformanceOptions } from "./socket.ts"

/** What a transport provides to the suite. */
export interface DatagramTarget {
  /**
   * A socket bound to an ephemeral port when its reader is acquired. `peer`
   * is the default destination; `connect` also filters what is received.
   */
  readonly make: (options?: {
    readonly peer?: NetAddress.InetAddress | undefined
    readonly connect?: NetAddress.InetAddress | undefined
    readonly receiveBuffer?: DatagramSocket.ReceiveBufferOptions | undefined
  }) => Effect.Effect<DatagramSocket.DatagramSocket, never, Scope.Scope>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Pulls until `n` datagrams arrived. */
const receive = (
  reader: DatagramSocket.Reader,
  n: number
): Effect.Effect<Array<DatagramSocket.Datagram>, DatagramSocket.DatagramSocketError> =>
  Effect.gen(function*() {
    const out: Array<DatagramSocket.Datagram> = []
    while (out.length < n) out.push(...(yield* reader.pull))
    return out
  })

const settle = Effect.gen(function*() {
  for (let i = 0; i < 16; i++) yield* Effect.yieldNow
})

const same = (a: NetAddress.InetAddress, b: NetAddress.InetAddress): boolean =>
  NetAddress.formatInet(a) === NetAddress.formatInet(b)

/**
 * Registers the `DatagramSocket` conformance tests under `describe(name)`.
 * `makeTarget` runs once per test, in the test's scope.
 */
export const runDatagramConformance = <E>(
  name: string,
  makeTarget: Effect.Effect<DatagramTarget, E, Scope.Scope>,
  options?: ConformanceOptions
): void => {
  const test = options?.live === true ? it.live : it.effect
  describe(`${name} · DatagramSocket conformance`, () => {
    test("datagrams keep their boundaries and carry the sender's bound address", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const a = yield* (yield* target.make()).reader
        const bSocket = yield* target.make()
        const b = yield* bSocket.reader
        const writer = yield* bSocket.writer
        const sizes = [1, 1200, 0, 7]
        for (const size of sizes) {
          yield* writer.write({ payload: new Uint8Array(size).fill(size & 255), address: a.address })
        }
        const got = yield* receive(a, sizes.length)
        assert.deepStrictEqual(got.map((d) => d.payload.length), sizes)
        for (const d of got) {
          assert.isTrue(d.payload.every((byte) => byte === (d.payload.length & 255)))
          assert.isTrue(same(d.address, b.address), `${NetAddress.formatInet(d.address)} ≠ ${NetAddress.formatInet(b.address)}`)
        }
        assert.strictEqual(a.dropped(), 0)
      }))

    test("a received datagram is a reply address; strings are UTF-8", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.make()
        const serverReader = yield* server.reader
        const serverWriter = yield* server.writer
        const client = yield* target.make({ peer: serverReader.address })
        const clientReader = yield* client.reader
        const clientWriter = yield* client.writer
        yield* clientWriter.write({ payload: "ping → é" })
        const [request] = yield* receive(serverReader, 1)
        assert.strictEqual(decoder.decode(request!.payload), "ping → é")
        yield* serverWriter.write({ payload: "pong", address: request! })
        yield* serverWriter.write({ payload: encoder.encode("pong 2"), address: request!.address })
        const replies = yield* receive(clientReader, 2)
        assert.deepStrictEqual(replies.map((d) => decoder.decode(d.payload)), ["pong", "pong 2"])
      }))

    test("writeAll sends every datagram, in order", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const a = yield* (yield* target.make()).reader
        const b = yield* target.make({ peer: a.address })
        yield* b.reader
        const writer = yield* b.writer
        const payloads = Array.from({ length: 50 }, (_, i) => `datagram ${i}`)
        yield* writer.writeAll([{ payload: payloads[0]! }, ...payloads.slice(1).map((payload) => ({ payload }))])
        const got = yield* receive(a, payloads.length)
        assert.deepStrictEqual(got.map((d) => decoder.decode(d.payload)), payloads)
      }))

    test("a connected socket receives only from its peer and refuses explicit addresses", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const peerSocket = yield* target.make()
        const peer = yield* peerSocket.reader
        const peerWriter = yield* peerSocket.writer
        const strangerSocket = yield* target.make()
        yield* strangerSocket.reader
        const strangerWriter = yield* strangerSocket.writer
        const connected = yield* target.make({ connect: peer.address })
        const reader = yield* connected.reader
        const writer = yield* connected.writer
        yield* peerWriter.write({ payload: "one", address: reader.address })
        yield* strangerWriter.write({ payload: "stranger", address: reader.address })
        yield* peerWriter.write({ payload: "two", address: reader.address })
        const got = yield* receive(reader, 2)
        assert.deepStrictEqual(got.map((d) => decoder.decode(d.payload)), ["one", "two"])
        yield* writer.write({ payload: "to the peer" })
        assert.strictEqual(decoder.decode((yield* receive(peer, 1))[0]!.payload), "to the peer")
        const refused = yield* Effect.flip(writer.write({ payload: "x", address: peer.address }))
        assert.strictEqual(refused.reason._tag, "DatagramSocketWriteError")
      }))

    test("writes wait for an open reader", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const a = yield* (yield* target.make()).reader
        const b = yield* target.make({ peer: a.address })
        const writer = yield* b.writer
        const pending = yield* Effect.forkChild(writer.write({ payload: "late" }), { startImmediately: true })
        yield* settle
        assert.isUndefined(pending.pollUnsafe(), "no reader: the write waits")
        yield* b.reader
        yield* Fiber.join(pending)
        assert.strictEqual(decoder.decode((yield* receive(a, 1))[0]!.payload), "late")
      }))

    test("closing the reader's scope fails a suspended pull with DatagramSocketClosedError", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const socket = yield* target.make()
        const scope = yield* Scope.make()
        const reader = yield* Scope.provide(socket.reader, scope)
        const pending = yield* Effect.forkChild(reader.pull, { startImmediately: true })
        yield* settle
        assert.isUndefined(pending.pollUnsafe())
        yield* Scope.close(scope, Exit.void)
        const exit = yield* Fiber.await(pending)
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
        assert.isTrue(
          error !== undefined && error._tag === "Fail" && DatagramSocket.isDatagramSocketError(error.error) &&
            error.error.reason._tag === "DatagramSocketClosedError"
        )
        const again = yield* Effect.flip(reader.pull)
        assert.strictEqual(again.reason._tag, "DatagramSocketClosedError")
      }))

    test("one reader at a time: the next acquisition waits for the first to close", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const socket = yield* target.make()
        const first = yield* Scope.make()
        yield* Scope.provide(socket.reader, first)
        const second = yield* Effect.forkChild(Effect.scoped(Effect.asVoid(socket.reader)), { startImmediately: true })
        yield* settle
        assert.isUndefined(second.pollUnsafe(), "the second reader waits")
        yield* Scope.close(first, Exit.void)
        yield* Fiber.join(second)
      }))
  })
}
