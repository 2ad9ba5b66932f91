/**
 * The shared Clt/Svc bodies over Effect's own NodeSocket and NodeSocketServer
 * (@effect/platform-node): Clt and Svc run on any effect/socket transport.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as Effect from "effect/Effect"
import type * as NetAddress from "effect/net/NetAddress"
import * as Clt from "../../src/clt/Clt.ts"
import * as Svc from "../../src/svc/Svc.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { runMessagingBodies } from "./bodies.ts"
import { codec, framer, type Target } from "./fixtures.ts"

const portOf = (address: NetAddress.SocketAddress) => (address as NetAddress.InetAddress).port

const dial = (address: NetAddress.SocketAddress) => NodeSocket.makeNet({ host: "127.0.0.1", port: portOf(address), noDelay: true })

const target: Effect.Effect<Target> = Effect.succeed({
  bind: (options) =>
    Effect.flatMap(Effect.orDie(NodeSocketServer.make({ host: "127.0.0.1", port: 0 })), (server) => Svc.bind({ server, codec, framer, ...options })),
  connect: (svc, options) => Effect.flatMap(dial(svc.address), (socket) => Clt.connect({ socket, codec, framer, ...options })),
  rawSocket: (svc) => dial(svc.address),
  resettingServer: Effect.gen(function*() {
    const server = yield* Effect.orDie(NodeSocketServer.make({ host: "127.0.0.1", port: 0 }))
    yield* Effect.forkScoped(server.run((socket) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        yield* reader.pull
        const net = yield* Effect.serviceOption(NodeSocket.NetSocket)
        if (net._tag === "Some") net.value.resetAndDestroy()
      })).pipe(Effect.ignore)
    ))
    return (options) => Effect.flatMap(dial(server.address), (socket) => Clt.connect({ socket, codec, framer, ...options }))
  }),
  sleep: (ms) => Effect.sleep(ms)
})

checkFdLeaks()
runMessagingBodies("Effect's NodeSocket / NodeSocketServer", target, { live: true })
