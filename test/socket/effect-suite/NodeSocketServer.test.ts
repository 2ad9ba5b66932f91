/**
 * Effect's own test of `NodeSocketServer` (@effect/platform-node-shared,
 * test/NodeSocketServer.test.ts, and its copy in NodeSocket.test.ts), run
 * against `Tcp.listen` with only the constructor swapped:
 * `NodeSocketServer.make({ host, port })` → `Tcp.listen({ host, port })`.
 * Effect's 4.1 addresses are `NetAddress` values, so `_tag` is
 * `"InetAddressV4"` (the older copy said `"TcpAddress"`).
 */
import { assert, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Net from "node:net"
import * as Reactor from "../../../src/reactor/Reactor.ts"
import * as Tcp from "../../../src/socket/Tcp.ts"
import { checkFdLeaks } from "../../util/fds.ts"

checkFdLeaks()

it.live("closes with a pending pre-run socket", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0 }).pipe(Scope.provide(scope))
    assert.strictEqual(server.address._tag, "InetAddressV4")
    if (server.address._tag !== "InetAddressV4") return
    const socket = Net.createConnection({ host: "127.0.0.1", port: server.address.port })
    yield* Effect.promise(() =>
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve)
        socket.once("error", reject)
      })
    )
    const closing = yield* Scope.close(scope, Exit.void).pipe(Effect.forkChild)
    const exit = yield* Fiber.await(closing).pipe(
      Effect.timeout("1 second"),
      Effect.ensuring(Effect.promise(() => new Promise<void>((resolve) => socket.destroy().once("close", () => resolve()))))
    )
    assert.isTrue(Exit.isSuccess(exit))
  }).pipe(Effect.provide(Reactor.layer)))
