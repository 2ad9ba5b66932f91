/**
 * Accept-rate server, our side and Node's: accepts connections on 127.0.0.1
 * and closes each at once. Prints {"ready":true,"port":N}, runs until killed.
 *
 *   --impl readiness  TcpListener + Poll: accept until WouldBlock, close, park
 *                     (`--strategy block`: wait with Poll.pollBlocking instead)
 *          fiber      effect/socket SocketServer (Tcp.listen) whose handler returns at once
 *                     (`--strategy park|spin|backoff|block`: the reactor's idle strategy)
 *          serve      the readiness-driven handler (Tcp.serve) whose `open` closes the connection
 *          node       node:net, socket.destroy() on 'connection'
 *          nodesocket Effect's NodeSocketServer (@effect/platform-node) whose handler acquires the
 *                     reader and releases it (which closes the connection; a handler that does
 *                     nothing leaves it open there)
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as net from "node:net"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, must, reactorLayer, runMain } from "./common.ts"

const impl = arg("impl")
const strategy = arg("strategy", "park")
const HOST = "127.0.0.1"
const BACKLOG = 4096

const readiness = Effect.gen(function*() {
  const listener = yield* TcpListener.bind(`${HOST}:0`, { backlog: BACKLOG })
  const poll = yield* Poll.make()
  const events = Events.withCapacity(16)
  yield* poll.registry.register(listener, Token(0), Interest.READABLE)
  emit({ ready: true, port: (must(listener.localAddr(), "localAddr") as { port: number }).port })
  for (;;) {
    for (;;) {
      const a = listener.accept()
      if (a === WouldBlock) break
      if (a instanceof Error) continue
      a[0].close()
    }
    if (strategy === "block") poll.pollBlocking(events)
    else yield* poll.poll(events)
  }
})

const fiber = Effect.gen(function*() {
  const server = yield* Tcp.listen(`${HOST}:0`, { backlog: BACKLOG })
  emit({ ready: true, port: (server.address as { port: number }).port })
  return yield* server.run(() => Effect.void)
})

const serve = Effect.gen(function*() {
  const server = yield* Tcp.serve(`${HOST}:0`, { open: (conn) => conn.close(), data: () => {} }, { backlog: BACKLOG })
  emit({ ready: true, port: (server.address as { port: number }).port })
  return yield* Effect.never
})

if (impl === "readiness") runMain(Effect.scoped(readiness))
else if (impl === "serve") runMain(serve.pipe(Effect.scoped, Effect.provide(reactorLayer(strategy))))
else if (impl === "fiber") runMain(fiber.pipe(Effect.scoped, Effect.provide(reactorLayer(strategy))))
else if (impl === "node") {
  const server = net.createServer((s) => s.destroy())
  server.listen({ port: 0, host: HOST, backlog: BACKLOG }, () => emit({ ready: true, port: (server.address() as net.AddressInfo).port }))
} else if (impl === "nodesocket") {
  const load = (m: string): Promise<any> => import(m)
  void load("@effect/platform-node/NodeSocketServer").then(({ make }) =>
    runMain(Effect.scoped(Effect.gen(function*() {
      const server = yield* (make({ port: 0, host: HOST, backlog: BACKLOG }) as Effect.Effect<SocketServer.SocketServer["Service"], unknown, Scope.Scope>)
      emit({ ready: true, port: (server.address as { port: number }).port })
      // NodeSocketServer closes a connection only when the handler's hold on its reader ends.
      return yield* server.run((socket: Socket.Socket) => Effect.scoped(socket.reader))
    })))
  )
} else throw new Error(`unknown --impl ${impl}`)
