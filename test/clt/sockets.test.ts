/**
 * The shared Clt/Svc bodies over effect-mio's own TCP and Unix sockets (real
 * fds on loopback, fd-leak checked), on the park and the spin reactor.
 */
import { describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as NetAddress from "effect/net/NetAddress"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Clt from "../../src/clt/Clt.ts"
import * as IdleStrategy from "../../src/reactor/IdleStrategy.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import * as Svc from "../../src/svc/Svc.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { runMessagingBodies } from "./bodies.ts"
import { codec, framer, type Target } from "./fixtures.ts"

let counter = 0
const socketPath = () => join(tmpdir(), `effect-mio-msg-${process.pid}-${++counter}.sock`)

const target = (kind: "tcp" | "unix", strategy: IdleStrategy.IdleStrategy): Effect.Effect<Target, never, import("effect/Scope").Scope> =>
  Effect.map(Effect.orDie(Reactor.make(strategy)), (reactor): Target => {
    const withReactor = Effect.provideService(Reactor.Reactor, reactor)
    const address = () => (kind === "tcp" ? "127.0.0.1:0" : socketPath())
    return {
      bind: (options) => Svc.bind({ address: address(), codec, framer, ...options }).pipe(withReactor),
      connect: (svc, options) => Clt.connect({ address: svc.address, codec, framer, ...options }).pipe(withReactor),
      rawSocket: (svc) =>
        (kind === "tcp" ? Tcp.connect(svc.address as NetAddress.InetAddress) : Unix.connect(svc.address as NetAddress.UnixPathAddress)).pipe(
          Effect.orDie,
          withReactor
        ),
      resettingServer: Effect.gen(function*() {
        const server = yield* (kind === "tcp" ? Tcp.listen("127.0.0.1:0") : Unix.listen(socketPath())).pipe(Effect.orDie, withReactor)
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            yield* reader.pull
            // TCP: SO_LINGER 0 makes the close a reset; Unix: closing with data unread resets the peer
            const tcp = yield* Effect.serviceOption(Tcp.TcpConnection)
            if (tcp._tag === "Some") tcp.value.setLinger(0)
          })).pipe(Effect.ignore)
        ))
        return (options) => Clt.connect({ address: server.address, codec, framer, ...options }).pipe(withReactor)
      }),
      sleep: (ms) => Effect.sleep(ms)
    }
  })

for (const strategy of [IdleStrategy.park, IdleStrategy.spin]) {
  describe(`${strategy._tag} reactor`, () => {
    checkFdLeaks()
    runMessagingBodies(`TCP (${strategy._tag})`, target("tcp", strategy), { live: true })
    if (strategy._tag === "Park") runMessagingBodies("Unix (Park)", target("unix", strategy), { live: true })
  })
}
