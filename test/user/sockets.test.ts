/**
 * The effect/socket adapters as a user meets them (docs/net.md), through the
 * package's entry point only: claims of the docs a user relies on, checked on
 * loopback.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as Socket from "effect/socket/Socket"
import { Reactor, Tcp, Udp } from "effect-mio"
import { checkFdLeaks } from "../util/fds.ts"

describe("user: one reader, one run at a time (docs/net.md)", () => {
  checkFdLeaks()

  it.live("a second UDP reader waits for the first one's Scope, then gets the socket", () =>
    Effect.gen(function*() {
      const udp = yield* Udp.make({ bind: "127.0.0.1:0" })
      const first = yield* Effect.forkChild(Effect.scoped(Effect.andThen(udp.reader, Effect.never)))
      yield* Effect.yieldNow
      const second = yield* Effect.forkChild(Effect.scoped(Effect.map(udp.reader, (r) => r.address)))
      assert.isTrue(Option.isNone(yield* Effect.timeoutOption(Fiber.join(second), "50 millis")))
      yield* Fiber.interrupt(first)
      assert.isDefined(yield* Fiber.join(second))
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a second Tcp server run waits until the first ends, then serves", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const greet = (text: string) => (socket: Socket.Socket) => Effect.scoped(Effect.flatMap(socket.writer, (w) => w.write(text)))
      const first = yield* Effect.forkChild(server.run(greet("first")))
      yield* Effect.yieldNow
      const second = yield* Effect.forkChild(server.run(greet("second")))
      const hello = Effect.scoped(Effect.gen(function*() {
        const pull = yield* Socket.readerString(yield* Tcp.connect(server.address))
        return (yield* pull).join("")
      }))
      assert.strictEqual(yield* hello, "first")
      yield* Fiber.interrupt(first)
      assert.strictEqual(yield* hello, "second")
      yield* Fiber.interrupt(second)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
