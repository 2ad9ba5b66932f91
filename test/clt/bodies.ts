/**
 * Test bodies for Clt and Svc written only against a `Target` (how to bind,
 * connect and let time pass), so that the same bodies run over effect-mio's
 * TCP and Unix sockets, Effect's NodeSocket, and MemorySocket on a SimNet.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Callback from "../../src/clt/Callback.ts"
import * as MessagingError from "../../src/clt/MessagingError.ts"
import * as Protocol from "../../src/clt/Protocol.ts"
import type * as Codec from "../../src/framing/Codec.ts"
import * as Framer from "../../src/framing/Framer.ts"
import { foreignCodec, frameOf, type Message, ping, type Target } from "./fixtures.ts"

type Body = Effect.Effect<void, unknown, Scope.Scope>

const kindOf = <A>(exit: Exit.Exit<A, MessagingError.MessagingError>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const e = exit.cause.reasons.find((r) => r._tag === "Fail")
  return e !== undefined && MessagingError.isMessagingError(e.error) ? e.error.kind : `not a MessagingError: ${String(exit.cause)}`
}

/** An echo service: a Pong for every Ping, from the application's recv loop. */
const echo = (target: Target, options?: Parameters<Target["bind"]>[0]) =>
  Effect.gen(function*() {
    const svc = yield* target.bind(options)
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const { from, message } = yield* svc.recv
      if (message._tag === "Ping") yield* Effect.ignore(svc.send(from, { _tag: "Pong", n: message.n }))
    })))
    return svc
  })

export const runMessagingBodies = (name: string, target: Effect.Effect<Target, never, Scope.Scope>, options: { readonly live: boolean }) => {
  const test = (title: string, body: (t: Target) => Body, timeout = 20_000) =>
    (options.live ? it.live : it.effect)(title, () => Effect.flatMap(target, body) as Effect.Effect<void, unknown, Scope.Scope>, timeout)

  describe(`Clt/Svc over ${name}`, () => {
    test("typed round trips, with links' connection ids", (t) =>
      Effect.gen(function*() {
        const svc = yield* echo(t, { name: "echo" })
        const clt = yield* t.connect(svc, { name: "client" })
        assert.match(String(clt.id), /^Initiator\(client@.+->.+\)$/)
        for (let i = 0; i < 50; i++) {
          yield* clt.send(ping(i))
          assert.deepStrictEqual(yield* clt.recv, { _tag: "Pong", n: i })
        }
        const [id] = yield* svc.connections.current
        assert.match(String(id), /^Acceptor\(echo@.+<-.+\)$/)
        assert.isTrue(yield* clt.isConnected)
        assert.isTrue(yield* svc.isConnected(id!))
        // a batch in one write
        yield* clt.sendAll([ping(100), ping(101), ping(102)])
        assert.deepStrictEqual([yield* clt.recv, yield* clt.recv, yield* clt.recv].map((m) => (m as { n: number }).n), [100, 101, 102])
      }))

    test("hooks run in links' order, with clean per-connection state and shared session state", (t) =>
      Effect.gen(function*() {
        const log: Array<string> = []
        const note = (s: string) => Effect.sync(() => void log.push(s))
        const show = (m: Message) => (m._tag === "Ping" || m._tag === "Pong" ? `${m._tag}${m.n}` : m._tag)
        const record = (side: string) =>
          Callback.make<Message, Message>({
            name: side,
            onRecv: (_, m) => note(`${side}.callback.onRecv ${show(m)}`),
            onSent: (_, m) => note(`${side}.callback.onSent ${show(m)}`)
          })
        const server = Protocol.make<Message, Message, { seen: number }, { connections: number }>({
          session: { connections: 0 },
          connectionState: () => ({ seen: 0 }),
          onConnect: (link) =>
            Effect.andThen(note(`svc.onConnect state=${link.state.seen} session=${link.session.connections++}`), Effect.void),
          onRecv: (m, link) => Effect.andThen(Effect.sync(() => link.state.seen++), note(`svc.onRecv ${show(m)}`)),
          sendReply: (m, link) =>
            m._tag === "Ping" ? Effect.andThen(note(`svc.sendReply ${show(m)}`), link.send({ _tag: "Pong", n: m.n * 10 })) : Effect.void,
          onSend: (m) => Effect.as(note(`svc.onSend ${show(m)}`), m),
          onSent: (m) => note(`svc.onSent ${show(m)}`),
          onDisconnect: (link) => Effect.andThen(note(`svc.onDisconnect seen=${link.state.seen}`), link.send({ _tag: "Bye" })),
          deliver: () => false
        })
        let stamp = 0
        const client = Protocol.make<Message, Message>({
          onConnect: () => note("clt.onConnect"),
          onSend: (m) => Effect.as(note(`clt.onSend ${show(m)}`), m._tag === "Ping" ? { ...m, n: ++stamp } : m),
          onSent: (m) => note(`clt.onSent ${show(m)}`),
          onRecv: (m) => note(`clt.onRecv ${show(m)}`),
          onDisconnect: () => note("clt.onDisconnect")
        })
        const svc = yield* t.bind({ protocol: server, callback: record("svc") })
        const clt = yield* t.connect(svc, { protocol: client, callback: record("clt") })
        yield* clt.send(ping(0))
        assert.deepStrictEqual(yield* clt.recv, { _tag: "Pong", n: 10 })
        yield* clt.send(ping(0))
        assert.deepStrictEqual(yield* clt.recv, { _tag: "Pong", n: 20 })
        // the server closes this connection: its onDisconnect says Bye first
        const [id] = yield* svc.connections.current
        yield* svc.disconnect(id!)
        assert.deepStrictEqual(yield* clt.recv, { _tag: "Bye" })
        assert.strictEqual(kindOf(yield* Effect.exit(clt.recv)), "Closed")
        // a second connection starts with a clean state and the shared session
        const second = yield* t.connect(svc, { protocol: client })
        yield* second.send(ping(0))
        yield* second.recv
        yield* second.close
        // each side's hooks in order (the two sides interleave by timing)
        const svcLog = log.filter((l) => l.startsWith("svc."))
        const cltLog = log.filter((l) => l.startsWith("clt."))
        const exchange = (n: number, sent: number) => [
          `svc.onRecv Ping${n}`,
          `svc.callback.onRecv Ping${n}`,
          `svc.sendReply Ping${n}`,
          `svc.onSend Pong${sent}`,
          `svc.onSent Pong${sent}`,
          `svc.callback.onSent Pong${sent}`
        ]
        assert.deepStrictEqual(svcLog.slice(0, 17), [
          "svc.onConnect state=0 session=0",
          ...exchange(1, 10),
          ...exchange(2, 20),
          "svc.onDisconnect seen=2",
          "svc.onSend Bye",
          "svc.onSent Bye",
          "svc.callback.onSent Bye"
        ])
        assert.deepStrictEqual(svcLog.slice(17, 18), ["svc.onConnect state=0 session=1"])
        assert.deepStrictEqual(cltLog, [
          "clt.onConnect",
          "clt.onSend Ping0",
          "clt.onSent Ping1",
          "clt.callback.onSent Ping1",
          "clt.onRecv Pong10",
          "clt.callback.onRecv Pong10",
          "clt.onSend Ping0",
          "clt.onSent Ping2",
          "clt.callback.onSent Ping2",
          "clt.onRecv Pong20",
          "clt.callback.onRecv Pong20",
          "clt.onRecv Bye",
          "clt.callback.onRecv Bye",
          // the second connection: no callback, the same protocol (its stamp counter is shared)
          "clt.onConnect",
          "clt.onSend Ping0",
          "clt.onSent Ping3",
          "clt.onRecv Pong30",
          "clt.onDisconnect"
        ])
        assert.strictEqual(log.filter((l) => l === "clt.onDisconnect").length, 1)
      }))

    test("split halves work from two fibers", (t) =>
      Effect.gen(function*() {
        const svc = yield* echo(t)
        const clt = yield* t.connect(svc)
        const [sender, recver] = clt.split
        const received = yield* Effect.forkScoped(Stream.runCollect(Stream.take(recver.messages, 200)))
        yield* Effect.forkScoped(Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => sender.send(ping(i)), { discard: true }))
        const got = yield* Fiber.join(received)
        assert.deepStrictEqual(got.map((m) => (m as { n: number }).n), Array.from({ length: 200 }, (_, i) => i))
      }))

    test("maxConnections refuses the connection over the limit, counted", (t) =>
      Effect.gen(function*() {
        const svc = yield* echo(t, { maxConnections: 1 })
        const first = yield* t.connect(svc)
        yield* first.send(ping(1))
        yield* first.recv
        const second = yield* t.connect(svc)
        // closed at once by the service: nothing ever arrives
        assert.strictEqual(kindOf(yield* Effect.exit(second.recv)), "Closed")
        const stats = yield* svc.stats
        assert.deepStrictEqual({ refused: stats.refused, active: stats.active, accepted: stats.accepted }, { refused: 1, active: 1, accepted: 1 })
        // the first is still served
        yield* first.send(ping(2))
        assert.deepStrictEqual(yield* first.recv, { _tag: "Pong", n: 2 })
        yield* first.close
        // a slot is free again
        while ((yield* svc.stats).active > 0) yield* t.sleep(5)
        const third = yield* t.connect(svc)
        yield* third.send(ping(3))
        assert.deepStrictEqual(yield* third.recv, { _tag: "Pong", n: 3 })
      }))

    test("a failing onConnect: the service refuses, Clt.connect fails", (t) =>
      Effect.gen(function*() {
        const svc = yield* t.bind({
          protocol: Protocol.make<Message, Message>({
            // the handshake receives every message, whatever the application is given afterwards
            deliver: () => false,
            onConnect: (link) =>
              Effect.flatMap(link.recvTimeout(2000), (m): Effect.Effect<void, unknown> =>
                Option.isSome(m) && m.value._tag === "Ping" && m.value.text === "secret" ? link.send({ _tag: "Pong", n: 0 }) : Effect.fail("bad login"))
          })
        })
        const login = (text: string) =>
          Protocol.make<Message, Message>({
            onConnect: (link) =>
              Effect.andThen(link.send(ping(0, text)), Effect.flatMap(link.recvTimeout(2000), (m) => (Option.isSome(m) ? Effect.void : Effect.fail("no answer"))))
          })
        const ok = yield* t.connect(svc, { protocol: login("secret") })
        assert.isTrue(yield* ok.isConnected)
        const refused = yield* Effect.exit(t.connect(svc, { protocol: login("wrong") }))
        assert.strictEqual(kindOf(refused), "HandshakeFailed")
        assert.deepStrictEqual([(yield* svc.stats).rejected, (yield* svc.stats).accepted], [1, 1])
      }))

    test("recvTimeout gives none when nothing comes; a connect to nowhere fails typed", (t) =>
      Effect.gen(function*() {
        const svc = yield* t.bind()
        const clt = yield* t.connect(svc)
        const waiting = yield* Effect.forkScoped(clt.recvTimeout(50))
        yield* t.sleep(60)
        assert.isTrue(Option.isNone(yield* Fiber.join(waiting)))
        const [id] = yield* svc.connections.current
        assert.strictEqual(kindOf(yield* Effect.exit(svc.send(id!, ping(1)))), "success")
        assert.deepStrictEqual(yield* clt.recvTimeout(1000), Option.some(ping(1)))
      }))

    test("bad bytes end the connection with typed errors, either way", (t) =>
      Effect.gen(function*() {
        // the service encodes Ping with a type byte the client does not know
        const svc = yield* t.bind({ codec: foreignCodec })
        const clt = yield* t.connect(svc)
        while ((yield* svc.connections.current).length === 0) yield* t.sleep(1)
        yield* svc.broadcast(ping(1))
        const decode = yield* Effect.flip(clt.recv)
        assert.strictEqual(decode.kind, "Decode")
        assert.strictEqual((decode.cause as Codec.CodecError).frame![0], 0x3f)
        assert.isFalse(yield* clt.isConnected)
        // a frame over the client's maxFrame (4096) is refused from its header
        const big = yield* t.bind({ framer: Framer.lengthPrefixed({ width: 2 }) })
        const small = yield* t.connect(big)
        while ((yield* big.connections.current).length === 0) yield* t.sleep(1)
        yield* big.broadcast({ _tag: "Blob", data: new Uint8Array(5000) })
        const frame = yield* Effect.flip(small.recv)
        assert.strictEqual(frame.kind, "Frame")
        assert.strictEqual((frame.cause as Framer.FrameError).kind, "TooLarge")
        // garbage from a client: the service closes that connection
        const raw = yield* t.rawSocket(svc)
        const reader = yield* raw.reader
        const writer = yield* raw.writer
        yield* writer.write(frameOf(new Uint8Array([0x3f, 1, 2])))
        assert.isTrue(Exit.isFailure(yield* Effect.exit(Effect.forever(reader.pull))))
        const raw2 = yield* t.rawSocket(svc)
        const reader2 = yield* raw2.reader
        const writer2 = yield* raw2.writer
        // a length of 60,000 bytes is over the service's maxFrame: refused from the header alone
        yield* writer2.write(new Uint8Array([0xea, 0x60, 1, 2, 3]))
        assert.isTrue(Exit.isFailure(yield* Effect.exit(Effect.forever(reader2.pull))))
      }))

    test("a peer that resets the connection: recv fails typed, no hang", (t) =>
      Effect.gen(function*() {
        const connect = yield* t.resettingServer
        const clt = yield* connect()
        yield* clt.send(ping(1))
        const exit = yield* Effect.exit(clt.recv)
        assert.include(["Transport", "Closed"], kindOf(exit))
        assert.isFalse(yield* clt.isConnected)
        assert.strictEqual(kindOf(yield* Effect.exit(clt.send(ping(2)))) !== "success", true)
      }))

    test("heartbeats keep a connection alive; a silent peer is dead (TimedOut)", (t) =>
      Effect.gen(function*() {
        // A timeout of 20 intervals: a loaded machine stalling a process for a few hundred ms must not
        // make the beating client look dead.
        const heartbeat = { interval: 50, make: (): Message => ({ _tag: "Beat" }), timeout: 1000 }
        const server = Protocol.make<Message, Message>({ heartbeat, deliver: (m) => m._tag !== "Beat" })
        const svc = yield* echo(t, { protocol: server })
        const beating = Protocol.make<Message, Message>({ heartbeat, deliver: (m) => m._tag !== "Beat" })
        const alive = yield* t.connect(svc, { protocol: beating })
        const silent = yield* t.connect(svc, { receive: "background" })
        // the silent client never sends: the service declares it dead after 1 s
        const silentEnd = yield* Effect.forkScoped(Effect.exit(Effect.forever(silent.recv)))
        while (silentEnd.pollUnsafe() === undefined) yield* t.sleep(50)
        const silentExit = yield* Fiber.join(silentEnd)
        assert.include(["Closed", "Transport"], kindOf(silentExit))
        // meanwhile heartbeats both ways kept the other one alive
        assert.isTrue(yield* alive.isConnected)
        yield* alive.send(ping(7))
        assert.deepStrictEqual(yield* alive.recv, { _tag: "Pong", n: 7 })
        assert.strictEqual((yield* svc.connections.current).length, 1)
      }), 30_000)

    test("Callback.counter and Callback.store see both directions", (t) =>
      Effect.gen(function*() {
        const counter = Callback.counter()
        const store = Callback.store<Message, Message>()
        const svc = yield* echo(t)
        const clt = yield* t.connect(svc, { callback: Callback.chain([store, counter]), name: "counted" })
        yield* Effect.forkScoped(Effect.forEach([1, 2, 3], (i) => Effect.andThen(clt.send(ping(i)), clt.recv), { discard: true }))
        yield* counter.awaitRecv(3)
        assert.strictEqual(counter.sentCount(), 3)
        const found = yield* store.findRecv((m) => m._tag === "Pong" && m.n === 2, { name: "counted", timeout: 1000 })
        assert.deepStrictEqual(found, Option.some({ _tag: "Pong", n: 2 } as Message))
        assert.deepStrictEqual(yield* store.findSent((m) => m._tag === "Pong"), Option.none())
        assert.strictEqual(store.entries().length, 6)
        assert.strictEqual(String(store.entries()[0]!.connection), String(clt.id))
      }))

    test("broadcast and connection changes", (t) =>
      Effect.gen(function*() {
        const svc = yield* t.bind()
        const seen = yield* Effect.forkScoped(svc.connections.changes.pipe(Stream.map((ids) => ids.length), Stream.take(4), Stream.runCollect), {
          startImmediately: true
        })
        const a = yield* t.connect(svc)
        const b = yield* t.connect(svc)
        while ((yield* svc.connections.current).length < 2) yield* t.sleep(1)
        assert.strictEqual(yield* svc.broadcast({ _tag: "Pong", n: 9 }), 2)
        assert.deepStrictEqual(yield* a.recv, { _tag: "Pong", n: 9 })
        assert.deepStrictEqual(yield* b.recv, { _tag: "Pong", n: 9 })
        yield* a.close
        assert.deepStrictEqual(yield* Fiber.join(seen), [0, 1, 2, 1])
        const gone = yield* Effect.exit(svc.send(a.id, ping(1)))
        assert.strictEqual(kindOf(gone), "NotConnected")
      }))

    test("retry: a Clt connects once the service is there", (t) =>
      Effect.gen(function*() {
        const svc = yield* echo(t)
        const clt = yield* t.connect(svc, { retry: Schedule.spaced(10), timeout: 2000 })
        yield* clt.send(ping(5))
        assert.deepStrictEqual(yield* clt.recv, { _tag: "Pong", n: 5 })
      }))
  })
}
