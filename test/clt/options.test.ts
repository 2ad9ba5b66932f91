/**
 * What the shared bodies do not cover: `wait: "spin"` (a Clt and a Svc with a
 * spinning reactor of their own), Callback.logger's levels and the metrics the
 * callbacks feed, a codec as a typed channel over datagrams (one message per
 * datagram), and addresses that do not parse.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as References from "effect/References"

import * as Callback from "../../src/clt/Callback.ts"
import * as Clt from "../../src/clt/Clt.ts"
import * as Codec from "../../src/framing/Codec.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Svc from "../../src/svc/Svc.ts"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { codec, framer, type Message, ping } from "./fixtures.ts"

describe("Clt and Svc options", () => {
  checkFdLeaks()

  it.live("wait: \"spin\" — a Clt and a Svc on spinning reactors of their own", () =>
    Effect.gen(function*() {
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer, wait: "spin" })
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(svc.recv, ({ from, message }) => svc.send(from, message))))
      const clt = yield* Clt.connect({ address: svc.address, codec, framer, wait: "spin" })
      for (let i = 0; i < 100; i++) {
        yield* clt.send(ping(i))
        assert.deepStrictEqual(yield* clt.recv, ping(i))
      }
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("maxConnections refusals are logged and feed effect_mio_svc_refused_total", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(String(Array.isArray(message) ? message[0] : message))
      })
      const refused = Metric.value(Metric.withAttributes(Svc.refusedTotal, { svc: "full", reason: "max_connections" }))
      const before = (yield* refused).count
      yield* Effect.gen(function*() {
        const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer, maxConnections: 1, name: "full" })
        yield* Clt.connect({ address: svc.address, codec, framer })
        while ((yield* svc.stats).accepted < 1) yield* Effect.sleep(1)
        const second = yield* Clt.connect({ address: svc.address, codec, framer })
        assert.strictEqual((yield* Effect.flip(second.recv)).kind, "Closed")
      }).pipe(Effect.provide(Logger.layer([capture])))
      assert.strictEqual((yield* refused).count - before, 1)
      assert.isTrue(warnings.some((w) => w.startsWith("full: refused a connection: 1 of maxConnections 1 in use")))
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("an address that does not parse is a typed error", () =>
    Effect.gen(function*() {
      const clt = yield* Effect.flip(Clt.connect({ address: "not an address", codec, framer }))
      assert.strictEqual(clt.kind, "ConnectFailed")
      const svc = yield* Effect.flip(Svc.bind({ address: "999.1.1.1:80", codec, framer }))
      assert.strictEqual(svc.kind, "ConnectFailed")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("Callback.logger logs each direction at its level; the callbacks feed effect_mio_messages_total", () =>
    Effect.gen(function*() {
      const lines: Array<{ level: string; text: string }> = []
      const capture = Logger.make(({ logLevel, message }) => {
        lines.push({ level: logLevel, text: (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ") })
      })
      const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer })
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(svc.recv, ({ from, message }) => svc.send(from, message))))
      const counter = Callback.counter({ name: "metrics-test" })
      const clt = yield* Clt.connect({
        address: svc.address,
        codec,
        framer,
        name: "logged",
        callback: Callback.chain([Callback.logger({ recv: "Debug", sent: "Warn", name: "wire" }), counter])
      })
      yield* Effect.gen(function*() {
        yield* clt.send(ping(1))
        yield* clt.recv
      }).pipe(Effect.provide(Logger.layer([capture])), Effect.provideService(References.MinimumLogLevel, "All"))
      const sent = lines.find((l) => l.text.startsWith("wire sent Initiator(logged@"))
      const recv = lines.find((l) => l.text.startsWith("wire recv Initiator(logged@"))
      assert.strictEqual(sent?.level, "Warn")
      assert.strictEqual(recv?.level, "Debug")
      assert.include(sent!.text, `"_tag":"Ping"`)
      const total = (direction: string) =>
        Metric.value(Metric.withAttributes(Callback.messagesTotal, { callback: "metrics-test", direction }))
      assert.strictEqual((yield* total("sent")).count, 1)
      assert.strictEqual((yield* total("recv")).count, 1)
    }).pipe(Effect.provide(Reactor.layer)))
})

describe("a codec over datagrams", () => {
  it.effect("one typed message per datagram, with a typed error for a bad one", () =>
    Effect.gen(function*() {
      const a = yield* MemoryDatagram.make({ host: "a", port: 5000 })
      const b = yield* MemoryDatagram.make({ host: "b", port: 5000 })
      const readerB = yield* b.reader
      const writerA = yield* a.writer
      yield* a.reader
      const messages: Array<Message> = [ping(1), { _tag: "Pong", n: 2 }, { _tag: "Blob", data: new Uint8Array([1, 2, 3]) }]
      for (const m of messages) yield* writerA.write({ payload: Codec.encode(codec, m) as Uint8Array, address: readerB.address })
      yield* writerA.write({ payload: new Uint8Array([0x3f]), address: readerB.address })
      const got: Array<Message | Codec.CodecError> = []
      while (got.length < 4) for (const d of yield* readerB.pull) got.push(codec.decode(d.payload))
      assert.deepStrictEqual(got.slice(0, 2), messages.slice(0, 2))
      assert.deepStrictEqual(Array.from((got[2] as { data: Uint8Array }).data), [1, 2, 3])
      assert.instanceOf(got[3], Codec.CodecError)
    }).pipe(Effect.provide(SimNet.layer({ seed: 1 }))))
})


