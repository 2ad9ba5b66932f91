import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import * as dgram from "node:dgram"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { checkFdLeaks } from "../util/fds.ts"

describe("udp adapter smoke", () => {
  checkFdLeaks()

  it.live("exchanges datagrams with node:dgram", () =>
    Effect.gen(function*() {
      const peer = dgram.createSocket("udp4")
      yield* Effect.promise(() => new Promise<void>((r) => peer.bind(0, "127.0.0.1", () => r())))
      peer.on("message", (msg, rinfo) => peer.send(Buffer.concat([Buffer.from("echo:"), msg]), rinfo.port, rinfo.address))
      const port = peer.address().port
      const socket = yield* Udp.make({ bind: "127.0.0.1:0" })
      const got = yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        const to = NetAddress.inetAddressFromStringUnsafe(`127.0.0.1:${port}`)
        yield* writer.write({ payload: "a", address: to })
        yield* writer.writeAll([{ payload: "b", address: to }, { payload: "c", address: to }])
        const out: Array<string> = []
        while (out.length < 3) {
          for (const d of yield* reader.pull) out.push(new TextDecoder().decode(d.payload) + "@" + NetAddress.formatInet(d.address))
        }
        return out
      }))
      assert.deepStrictEqual(got.sort(), [`echo:a@127.0.0.1:${port}`, `echo:b@127.0.0.1:${port}`, `echo:c@127.0.0.1:${port}`])
      peer.close()
    }).pipe(Effect.provide(Reactor.layer)))
})
