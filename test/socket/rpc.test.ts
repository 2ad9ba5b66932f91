/**
 * Effect's own RPC over effect-mio's TCP: RpcServer on `Tcp.layerServer` and
 * RpcClient on `Tcp.layerSocket`, with no change to either — the proof that code
 * written against effect/socket runs on ours.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import * as Schema from "effect/Schema"
import * as SocketServer from "effect/socket/SocketServer"
import * as Stream from "effect/Stream"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { checkFdLeaks } from "../util/fds.ts"

class Calculator extends RpcGroup.make(
  Rpc.make("Add", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number }),
  Rpc.make("Divide", { payload: { a: Schema.Number, b: Schema.Number }, success: Schema.Number, error: Schema.String }),
  Rpc.make("Count", { payload: { to: Schema.Number }, success: Schema.Number, stream: true })
) {}

const handlers = Calculator.toLayer({
  Add: ({ a, b }) => Effect.succeed(a + b),
  Divide: ({ a, b }) => (b === 0 ? Effect.fail("division by zero") : Effect.succeed(a / b)),
  Count: ({ to }) => Stream.range(1, to)
})

describe("Effect RPC over effect-mio TCP", () => {
  checkFdLeaks()

  it.live("calls, typed errors and streams cross our sockets", () =>
    Effect.gen(function*() {
      // The server: Effect's RpcServer on our SocketServer.
      const serverLayer = RpcServer.layer(Calculator).pipe(
        Layer.provide(handlers),
        Layer.provide(RpcServer.layerProtocolSocketServer),
        Layer.provide(RpcSerialization.layerNdjson),
        Layer.provideMerge(Tcp.layerServer("127.0.0.1:0"))
      )
      const context = yield* Layer.build(serverLayer)
      const address = Context.get(context, SocketServer.SocketServer).address as NetAddress.InetAddress

      // The client: Effect's RpcClient on our Socket. Its protocol runs fibers for
      // as long as its layer lives, so build the layer into the test's Scope.
      const protocol = yield* Layer.build(RpcClient.layerProtocolSocket().pipe(
        Layer.provide(RpcSerialization.layerNdjson),
        Layer.provide(Tcp.layerSocket(address))
      ))
      const client = yield* RpcClient.make(Calculator).pipe(Effect.provideContext(protocol))
      assert.strictEqual(yield* client.Add({ a: 2, b: 40 }), 42)
      assert.strictEqual(yield* client.Divide({ a: 1, b: 4 }), 0.25)
      assert.strictEqual(yield* Effect.flip(client.Divide({ a: 1, b: 0 })), "division by zero")
      const counted = yield* Stream.runCollect(client.Count({ to: 5 }))
      assert.deepStrictEqual([...counted], [1, 2, 3, 4, 5])
      const many = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => client.Add({ a: i, b: i }), {
        concurrency: 50
      })
      assert.deepStrictEqual(many, Array.from({ length: 200 }, (_, i) => 2 * i))
    }).pipe(Effect.provide(Reactor.layer)))
})
