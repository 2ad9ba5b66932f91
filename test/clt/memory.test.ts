/**
 * The shared Clt/Svc bodies over MemorySocket on a SimNet, in virtual time
 * (TestClock) on an ideal network, and in real time over 1 ms links: the
 * transports an application test swaps in with one Layer.
 */
import * as Effect from "effect/Effect"
import * as Socket from "effect/socket/Socket"
import { TestClock } from "effect/testing"
import * as Clt from "../../src/clt/Clt.ts"
import * as Svc from "../../src/svc/Svc.ts"
import * as MemorySocket from "../../src/testing/MemorySocket.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { runMessagingBodies } from "./bodies.ts"
import { codec, framer, type Target } from "./fixtures.ts"

const target = (latency: number, live: boolean) =>
  Effect.map(Effect.orDie(SimNet.make({ latency })), (net): Target => {
    const onNet = Effect.provideService(SimNet.SimNet, net)
    return {
      bind: (options) =>
        Effect.flatMap(Effect.orDie(MemorySocket.listen({ host: "server" })), (server) => Svc.bind({ server, codec, framer, ...options })).pipe(onNet),
      connect: (svc, options) =>
        Effect.flatMap(Effect.orDie(MemorySocket.make({ to: svc.address, host: "client" })), (socket) => Clt.connect({ socket, codec, framer, ...options })).pipe(onNet),
      rawSocket: (svc) => MemorySocket.make({ to: svc.address, host: "client" }).pipe(Effect.orDie, onNet),
      resettingServer: Effect.gen(function*() {
        const server = yield* Effect.orDie(MemorySocket.listen({ host: "server" }).pipe(onNet))
        yield* Effect.forkScoped(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const reader = yield* socket.reader
            const writer = yield* socket.writer
            yield* reader.pull
            yield* writer.write(new Socket.CloseEvent(1011, "reset"))
          })).pipe(Effect.ignore)
        ))
        return (options) =>
          Effect.flatMap(Effect.orDie(MemorySocket.make({ to: server.address, host: "client" })), (socket) => Clt.connect({ socket, codec, framer, ...options })).pipe(onNet)
      }),
      sleep: (ms) => (live ? Effect.sleep(ms) : TestClock.adjust(ms))
    }
  })

runMessagingBodies("MemorySocket (ideal SimNet, TestClock)", target(0, false), { live: false })
// with latency, time has to flow while the bodies wait: the live clock, as SimNet allows
runMessagingBodies("MemorySocket (SimNet, 1 ms each way, live clock)", target(1, true), { live: true })
