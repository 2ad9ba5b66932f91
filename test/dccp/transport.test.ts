/**
 * The DCCP-UDP transport's receive loop over a real UDP socket on loopback. It
 * stops trying `recvmmsg` after a batch shorter than `RECV_BATCH` (the socket
 * was empty) and waits for the next readiness event; a full batch is followed
 * by another try at once. Both halves matter: a loop that waited after a full
 * batch would strand the datagrams still queued, since no new edge comes for
 * them.
 *
 * A batch whose handling sent packets is followed by another try at once (a
 * peer on the same host often answers while `sendto` runs), at most
 * `AnswerRetries.MAX` times in a row before the loop waits for readiness, and
 * only while such tries keep finding data often enough to pay for themselves.
 *
 * Sending: packets the driver builds in the socket's native send area leave
 * with one `sendmmsg` (`sendPacked`); a closed socket hands out scratch memory
 * instead of the freed area.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { IoError } from "../../src/IoError.ts"
import { AnswerRetries, RECV_BATCH } from "../../src/dccp/transport/Transport.ts"
import * as UdpTransport from "../../src/dccp/transport/Udp.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** Waits (without blocking the event loop) until `done()` holds, at most 5 s. */
const until = (done: () => boolean, what: () => string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5000
    while (!done()) {
      if (Date.now() > deadline) return assert.fail(`timed out waiting for ${what()}`)
      yield* Effect.sleep("1 millis")
    }
  })

describe("DCCP-UDP transport: receive loop", () => {
  checkFdLeaks()

  it.live("a burst of several full batches queued before the loop starts all arrives, and a later datagram wakes the loop", () =>
    Effect.gen(function*() {
      const transport = yield* UdpTransport.make({ bind: "127.0.0.1:0", recvBufferSize: 1 << 20 })
      const to = SocketAddress.format(transport.localAddress)
      const sender = yield* UdpSocket.bind("127.0.0.1:0")
      const burst = 3 * RECV_BATCH + 5
      for (let i = 0; i < burst; i++) {
        const r = sender.sendTo(Uint8Array.of(i >> 8, i & 0xff, 0, 0), to)
        assert.strictEqual(r, 4, `datagram ${i} sent`)
      }
      const seen: Array<number> = []
      const loop = yield* Effect.forkChild(transport.receive((bytes) => {
        seen.push((bytes[0]! << 8) | bytes[1]!)
      }, () => {}))
      yield* until(() => seen.length >= burst, () => `${burst} datagrams (saw ${seen.length})`)
      assert.deepStrictEqual(seen, Array.from({ length: burst }, (_, i) => i))

      // The last batch was short: the loop is parked; a new datagram is a new event.
      yield* Effect.sleep("20 millis")
      assert.strictEqual(seen.length, burst, "nothing more arrived")
      assert.strictEqual(sender.sendTo(Uint8Array.of(0xff, 0xff, 0, 0), to), 4)
      yield* until(() => seen.length === burst + 1, () => "the datagram sent after the loop parked")
      assert.strictEqual(seen[burst], 0xffff)
      yield* Fiber.interrupt(loop)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("DCCP-UDP transport: reading again after a batch that sent", () => {
  checkFdLeaks()

  it("a streak of answered batches is bounded, and a batch that sent nothing ends it", () => {
    const retries = new AnswerRetries()
    for (let i = 0; i < AnswerRetries.MAX; i++) {
      assert.isTrue(retries.retry(true), `retry ${i + 1}`)
      retries.found()
    }
    assert.isFalse(retries.retry(true), "the streak is over: wait for readiness")
    assert.isTrue(retries.retry(true), "a new streak")
    assert.isFalse(retries.retry(false), "nothing sent: wait")
    assert.isTrue(retries.retry(true))
    retries.empty()
    for (let i = 0; i < AnswerRetries.MAX; i++) {
      assert.isTrue(retries.retry(true), `after an empty read, retry ${i + 1}`)
      retries.found()
    }
  })

  it("tries that keep finding nothing turn themselves off but for a probe now and then, and hits turn them on again", () => {
    const retries = new AnswerRetries()
    // A remote peer: every try finds the socket empty.
    let tries = 0
    for (let i = 0; i < 1000; i++) {
      if (retries.retry(true)) {
        tries++
        retries.empty()
      }
    }
    assert.isAtMost(tries, AnswerRetries.CREDIT / 2 + Math.ceil(1000 / AnswerRetries.PROBE), `tries: ${tries}`)
    assert.isAtLeast(tries, AnswerRetries.CREDIT / 2, `tries: ${tries}`)
    // A peer that answers: the probes find data and earn the credit back.
    let probes = 0
    while (!retries.retry(true)) probes++
    assert.isBelow(probes, AnswerRetries.PROBE, "a probe comes within PROBE answered batches")
    retries.found()
    retries.empty()
    assert.isTrue(retries.retry(true), "credit earned by the hit")
  })

  it.live("an answer that arrives while the batch is answered is read without a readiness event, up to the bound, and nothing is lost", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      const transport = yield* UdpTransport.make({ bind: "127.0.0.1:0" })
      const to = SocketAddress.format(transport.localAddress)
      // The "peer": loopback delivers a datagram into the transport's socket within sendto.
      const peer = yield* UdpSocket.bind("127.0.0.1:0")
      const total = 2 * AnswerRetries.MAX + 4
      const seen: Array<number> = []
      /** Readiness events the reactor had dispatched when each batch ended. */
      const eventsAt: Array<number> = []
      const loop = yield* Effect.forkChild(transport.receive(
        (bytes) => void seen.push(bytes[0]!),
        () => {},
        () => {
          eventsAt.push(reactor.stats().dispatched)
          const next = seen.length
          if (next >= total) return false
          assert.strictEqual(peer.sendTo(Uint8Array.of(next, 0, 0, 0), to), 4)
          return true
        }
      ))
      assert.strictEqual(peer.sendTo(Uint8Array.of(0, 0, 0, 0), to), 4)
      yield* until(() => seen.length >= total, () => `${total} datagrams (saw ${seen.length})`)
      assert.deepStrictEqual(seen, Array.from({ length: total }, (_, i) => i), "every answer, in order")
      // The first batch and the MAX answers after it were read on one readiness event …
      const first = eventsAt.slice(0, AnswerRetries.MAX + 1)
      assert.deepStrictEqual(first, first.map(() => eventsAt[0]), `events at each batch end: ${eventsAt.join(",")}`)
      // … then the loop waited: the next answer came with a new event.
      assert.isAbove(eventsAt[AnswerRetries.MAX + 1]!, eventsAt[0]!, `events at each batch end: ${eventsAt.join(",")}`)
      yield* Fiber.interrupt(loop)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("DCCP-UDP transport: batched sends", () => {
  checkFdLeaks()

  it.live("packets built in the send area leave together with one sendPacked, addressed and connected", () =>
    Effect.gen(function*() {
      const rx = yield* UdpSocket.bind("127.0.0.1:0", { batch: { size: RECV_BATCH } })
      const rxAddress = SocketAddress.format(expectOk(rx.localAddr()))
      const server = yield* UdpTransport.make({ bind: "127.0.0.1:0" })
      const peer = server.peerFor(rxAddress)!
      const area = server.sendArea()
      assert.isAtLeast(area.length, 65536)
      const offsets = [0, 100, 200], lengths = [4, 7, 1]
      for (let i = 0; i < 3; i++) area.fill(i + 1, offsets[i]!, offsets[i]! + lengths[i]!)
      assert.strictEqual(server.sendPacked(offsets, lengths, [peer, peer, peer], 3), 3)
      const got = yield* recvAll(rx, 3)
      assert.deepStrictEqual(got, [[1, 1, 1, 1], [2, 2, 2, 2, 2, 2, 2], [3]])

      // A connected client's socket names no address.
      const client = yield* UdpTransport.make({ connect: rxAddress })
      const clientArea = client.sendArea()
      clientArea.set([9, 8, 7], 10)
      assert.strictEqual(client.sendPacked([10], [3], [client.peerFor(rxAddress)!], 1), 1)
      assert.deepStrictEqual(yield* recvAll(rx, 1), [[9, 8, 7]])
      assert.deepStrictEqual(client.stats().sendFailures, 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a closed socket's area is scratch memory and its packets count as send failures", () =>
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      assert.isUndefined(socket.close())
      const area = socket.sendArea()
      area[0] = 1 // writable, and not the freed native memory
      const r = socket.sendPacked([0], [1], ["127.0.0.1:9"], 1)
      assert.instanceOf(r, IoError)
      assert.strictEqual((r as IoError).kind, "Closed")
    }).pipe(Effect.scoped))
})

const expectOk = <A>(a: A | IoError): A => {
  if (a instanceof IoError) throw a
  return a
}

/** Receives `n` datagrams (polling briefly), as byte arrays. */
const recvAll = (socket: UdpSocket.UdpSocket, n: number) =>
  Effect.gen(function*() {
    const out: Array<Array<number>> = []
    const deadline = Date.now() + 5000
    while (out.length < n && Date.now() < deadline) {
      const batch = socket.recvBatch()
      if (Array.isArray(batch)) for (const d of batch) out.push([...d.payload])
      else yield* Effect.sleep("1 millis")
    }
    return out
  })

