/**
 * Every datagram path at 20 % loss, 10 % duplication and 10 % reordering
 * (issue 8): never a duplicate where the protocol promises none (DCCP, issue 8
 * defect 3), never a cut or corrupt datagram anywhere (defect 1).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { dccpThroughRelay, memoryOnSimNet, type PathFigures, udpThroughRelay } from "./scenarios/lossyDatagrams.ts"

const intact = (f: PathFigures) => {
  assert.strictEqual(f.cut, 0, `${f.path}: cut datagrams`)
  assert.strictEqual(f.corrupt, 0, `${f.path}: corrupt datagrams`)
  assert.strictEqual(f.unknown, 0, `${f.path}: datagrams never sent`)
}

describe("hostile: datagram paths through a bad network", () => {
  checkFdLeaks()

  it.live("DCCP-UDP through the relay: no duplicate, nothing cut, most datagrams through", () =>
    Effect.gen(function*() {
      // CCID 2 at 20 % loss runs on retransmission timeouts: a few hundred datagrams take seconds.
      const f = yield* dccpThroughRelay(200)
      intact(f)
      assert.strictEqual(f.duplicates, 0, "DCCP delivered a datagram twice")
      assert.isAbove(f.networkDuplicated, 5, "the relay did duplicate")
      assert.isAbove(f.whole, 0.5 * f.sent, "DCCP is unreliable, but most datagrams arrive")
    }).pipe(Effect.provide(Reactor.layer)), 60_000)

  it.live("UDP DatagramSocket through the relay: every datagram whole, duplicates only the network's", () =>
    Effect.gen(function*() {
      const f = yield* udpThroughRelay(600)
      intact(f)
      assert.isAtMost(f.duplicates, f.networkDuplicated)
      assert.isAbove(f.whole, 0.6 * f.sent)
    }).pipe(Effect.provide(Reactor.layer)), 60_000)

  it.live("UDP through the relay: another process's datagrams to the same ports are not the path's", () =>
    Effect.gen(function*() {
      // Loopback ports are shared by every process: a test elsewhere whose peer closed can still
      // send to a port this test's receiver or relay took since. 3 such datagrams to each.
      const f = yield* udpThroughRelay(100, 2, 3)
      intact(f)
      assert.isAtLeast(f.foreign, 3, "the strays sent straight to the receiver")
      assert.isAbove(f.whole, 0.6 * f.sent)
    }).pipe(Effect.provide(Reactor.layer)), 60_000)

  it.effect("MemoryDatagram on SimNet: every datagram whole, duplicates only the network's", () =>
    Effect.gen(function*() {
      const f = yield* memoryOnSimNet(2000)
      intact(f)
      assert.isAbove(f.duplicates, 0)
      assert.isAtMost(f.duplicates, f.networkDuplicated)
      assert.isAbove(f.whole, 0.7 * f.sent)
    }))
})
