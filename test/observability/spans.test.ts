/**
 * effect-mio's spans (docs/observability.md): with a tracer installed, each
 * lifecycle event has its span, with its attributes, in the trace of the fiber
 * that caused it — a handler's work under its `Tcp.accept` span, a refused dial
 * ended as a failure; with Effect's native tracer, the per-connection spans are
 * not made at all.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as NetAddress from "effect/net/NetAddress"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as net from "node:net"
import * as Clt from "../../src/clt/Clt.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Svc from "../../src/svc/Svc.ts"
import { codec, framer, type Message } from "../clt/fixtures.ts"
import { checkFdLeaks } from "../util/fds.ts"

const collecting = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { tracer, spans }
}

const parentName = (s: Tracer.NativeSpan) => Option.match(s.parent, { onNone: () => undefined, onSome: (p) => (p._tag === "Span" ? p.name : "external") })

/** A server whose handler reports the name of its current span, and one client exchange with it. */
const oneExchange = Effect.gen(function*() {
  const seen: Array<string> = []
  const server = yield* Tcp.listen("127.0.0.1:0")
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const span = yield* Effect.option(Effect.currentSpan)
      seen.push(Option.match(span, { onNone: () => "none", onSome: (s) => s.name }))
      const reader = yield* socket.reader
      const writer = yield* socket.writer
      yield* writer.writeAll(yield* reader.pull)
    })).pipe(Effect.withSpan("handler work"), Effect.ignore)
  ))
  const { port } = server.address as NetAddress.InetAddress
  const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
  yield* Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* writer.write("hi")
    yield* reader.pull
  }))
  while (seen.length === 0) yield* Effect.sleep("1 millis")
  return { seen, port }
})

describe("spans", () => {
  checkFdLeaks()

  it.live("with a tracer: listen, connect and accept spans with their attributes; the handler runs under its accept span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = collecting()
      const { port } = yield* Effect.scoped(oneExchange).pipe(
        Effect.withSpan("application"),
        Effect.provide(Reactor.layer),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      const byName = (name: string) => spans.filter((s) => s.name === name)
      const [listen] = byName("Tcp.listen")
      assert.strictEqual(parentName(listen!), "application")
      assert.strictEqual(listen!.attributes.get("server.port"), port)
      const [connect] = byName("Tcp.connect")
      assert.strictEqual(connect!.kind, "client")
      assert.strictEqual(connect!.attributes.get("server.address"), "127.0.0.1")
      assert.isTrue(connect!.status._tag === "Ended" && Exit.isSuccess(connect!.status.exit))
      const [accept] = byName("Tcp.accept")
      assert.strictEqual(accept!.kind, "server")
      assert.strictEqual(accept!.attributes.get("network.local.port"), port)
      assert.strictEqual(accept!.attributes.get("network.peer.address"), "127.0.0.1")
      const [work] = byName("handler work")
      assert.strictEqual(parentName(work!), "Tcp.accept", "the handler's spans are children of its accept span")
    }))

  it.live("with Effect's native tracer no per-connection span is made: the handler sees its own span's parent chain only", () =>
    Effect.gen(function*() {
      const { seen } = yield* Effect.scoped(oneExchange).pipe(Effect.provide(Reactor.layer))
      assert.deepStrictEqual(seen, ["handler work"])
      const parent = yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const names: Array<string> = []
        yield* Effect.forkScoped(server.run(() =>
          Effect.flatMap(Effect.option(Effect.currentParentSpan), (p) => Effect.sync(() => names.push(Option.isSome(p) ? p.value._tag === "Span" ? p.value.name : "external" : "none")))
        ))
        const client = net.connect((server.address as NetAddress.InetAddress).port, "127.0.0.1")
        yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
        while (names.length === 0) yield* Effect.sleep("1 millis")
        return names[0]
      })).pipe(Effect.withSpan("application"), Effect.provide(Reactor.layer))
      assert.strictEqual(parent, "application", "no Tcp.accept span between the handler and the application's")
    }))

  it.live("a refused dial ends its span as a failure", () =>
    Effect.gen(function*() {
      const { spans, tracer } = collecting()
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const s = net.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port
            s.close(() => resolve(p))
          })
        })
      )
      const exit = yield* Effect.exit(Effect.scoped(Effect.flatMap(Tcp.connect(`127.0.0.1:${port}`), (s) => s.reader))).pipe(
        Effect.provide(Reactor.layer),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      assert.isTrue(Exit.isFailure(exit))
      const [connect] = spans.filter((s) => s.name === "Tcp.connect")
      assert.isTrue(connect!.status._tag === "Ended" && Exit.isFailure(connect!.status.exit))
    }))

  it.live("Clt.connect and Svc.accept spans, the Svc's under the server's Tcp.accept", () =>
    Effect.gen(function*() {
      const { spans, tracer } = collecting()
      yield* Effect.scoped(Effect.gen(function*() {
        const svc = yield* Svc.bind<Message, Message>({ name: "quotes", address: "127.0.0.1:0", codec, framer })
        const clt = yield* Clt.connect<Message, Message>({ name: "trader", address: svc.address, codec, framer })
        yield* clt.send({ _tag: "Pong", n: 1 })
        yield* svc.recv
      })).pipe(Effect.provide(Reactor.layer), Effect.provideService(Tracer.Tracer, tracer))
      const connect = spans.find((s) => s.name === "Clt.connect")!
      assert.strictEqual(connect.attributes.get("effect_mio.clt"), "trader")
      assert.strictEqual(connect.kind, "client")
      const accept = spans.find((s) => s.name === "Svc.accept")!
      assert.strictEqual(accept.attributes.get("effect_mio.svc"), "quotes")
      assert.strictEqual(parentName(accept), "Tcp.accept")
    }))
})
