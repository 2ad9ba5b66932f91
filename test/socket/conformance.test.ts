/**
 * The shared effect/socket conformance bodies (test/conformance), run on the
 * real koffi-backed adapters over loopback — the same bodies the in-memory
 * transports of effect-mio/testing pass.
 */
import { describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as IdleStrategy from "../../src/reactor/IdleStrategy.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Udp from "../../src/socket/Udp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { runDatagramConformance } from "../conformance/datagram.ts"
import { runSocketConformance } from "../conformance/socket.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** An address where nothing listens: a port bound (not listening) for the test's duration. */
const refusedTcp = Effect.gen(function*() {
  const l = yield* TcpListener.bind("127.0.0.1:0")
  const addr = l.localAddr() as NetAddress.InetAddress
  l.close()
  return addr
})

let counter = 0
const socketPath = () => join(tmpdir(), `effect-mio-conf-${process.pid}-${++counter}.sock`)

for (const strategy of [IdleStrategy.park, IdleStrategy.spin] as const) {
  describe(`on the ${strategy._tag} reactor`, () => {
    checkFdLeaks()

    runSocketConformance(
      `Tcp (${strategy._tag})`,
      Effect.map(Reactor.make(strategy), (reactor) => ({
        listen: Tcp.listen("127.0.0.1:0").pipe(Effect.provideService(Reactor.Reactor, reactor)),
        connect: (address: NetAddress.SocketAddress) =>
          Tcp.connect(address as NetAddress.InetAddress).pipe(Effect.orDie, Effect.provideService(Reactor.Reactor, reactor)),
        refused: refusedTcp.pipe(Effect.orDie)
      })),
      { live: true }
    )

    runSocketConformance(
      `Unix (${strategy._tag})`,
      Effect.map(Reactor.make(strategy), (reactor) => ({
        listen: Unix.listen(socketPath()).pipe(Effect.provideService(Reactor.Reactor, reactor)),
        connect: (address: NetAddress.SocketAddress) =>
          Unix.connect(address as NetAddress.UnixPathAddress).pipe(Effect.orDie, Effect.provideService(Reactor.Reactor, reactor)),
        refused: Effect.sync(() => NetAddress.unixPathAddress(socketPath()))
      })),
      { live: true }
    )

    runDatagramConformance(
      `Udp (${strategy._tag})`,
      Effect.map(Reactor.make(strategy), (reactor) => ({
        make: (options?: {
          readonly peer?: NetAddress.InetAddress | undefined
          readonly connect?: NetAddress.InetAddress | undefined
          readonly receiveBuffer?: Udp.Options["receiveBuffer"]
        }) =>
          Udp.make({
            bind: "127.0.0.1:0",
            ...(options?.peer === undefined ? {} : { peer: options.peer }),
            ...(options?.connect === undefined ? {} : { connect: options.connect }),
            ...(options?.receiveBuffer === undefined ? {} : { receiveBuffer: options.receiveBuffer })
          }).pipe(Effect.orDie, Effect.provideService(Reactor.Reactor, reactor))
      })),
      { live: true }
    )
  })
}
