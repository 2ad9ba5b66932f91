/**
 * Our side of the fd ping-pong (eventfd or pipe): the peer that answers the C
 * driver (`native/pingpong_fd.c driver`). fd 3 is read (waited on), fd 4 is
 * written; both are inherited from the runner.
 *
 *   --level fiber     a fiber parked by the reactor: `Registration.readIo(read)`,
 *                     then a direct write (the eventfd wake → fiber resume path)
 *   --level readiness a `Poll`/`Events` loop: read until WouldBlock, then
 *                     `poll.poll(events)` (park) or `pollNow` in a busy loop (spin)
 *   --strategy park|spin|backoff|block
 *   --size 8          bytes per message (an eventfd message is its 8-byte counter)
 *
 * Runs until killed.
 */
import * as Effect from "effect/Effect"
import { ioResult, IoSource } from "../../src/poll/IoSource.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { SourceFd } from "../../src/poll/SourceFd.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as fd from "../../src/sys/fd.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, num, reactorLayer, runMain } from "./common.ts"

const RX = 3, TX = 4
const level = arg("level", "fiber")
const strategy = arg("strategy", "park")
const size = num("size", 8)
const buf = new Uint8Array(size)

const answer = (n: number): void => {
  const w = fd.write(TX, buf.subarray(0, n))
  if (typeof w !== "number") throw new Error(`write failed: ${String(w)}`)
}

const fiberLevel = Effect.gen(function*() {
  const reactor = yield* Reactor.Reactor
  // The fd belongs to the process; this source is never closed.
  const registration = yield* reactor.register(new IoSource(RX))
  const receive = registration.readIo(() => ioResult(fd.read(RX, buf)))
  for (;;) {
    const n = yield* receive
    if (n === 0) return
    answer(n)
  }
}).pipe(Effect.scoped, Effect.provide(reactorLayer(strategy)))

const readinessLevel = Effect.gen(function*() {
  const poll = yield* Poll.make()
  const events = Events.withCapacity(16)
  yield* poll.registry.register(SourceFd(RX), Token(0), Interest.READABLE)
  for (;;) {
    // Edge-triggered: drain until WouldBlock, then wait.
    const r = fd.read(RX, buf)
    if (typeof r === "number") {
      if (r === 0) return
      answer(r)
      continue
    }
    if (r !== WouldBlock) throw new Error(`read failed: ${String(r)}`)
    if (strategy === "spin") {
      do poll.pollNow(events)
      while (events.length === 0)
    } else if (strategy === "block") {
      poll.pollBlocking(events)
    } else {
      yield* poll.poll(events)
    }
  }
}).pipe(Effect.scoped)

runMain(level === "fiber" ? fiberLevel : readinessLevel)
