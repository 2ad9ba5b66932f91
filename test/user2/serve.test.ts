/**
 * `Tcp.serve` as a user meets it through `effect-mio` only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as NetAddress from "effect/net/NetAddress"
import { Reactor, Tcp } from "effect-mio"
import * as net from "node:net"
import { checkFdLeaks } from "../util/fds.ts"

/** A node:net client that sends `text` and waits for the connection to end (at most 500 ms). */
const client = (port: number, text: string) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => c.write(text))
      c.on("close", () => resolve())
      c.on("error", () => {})
      setTimeout(() => c.destroy(), 500)
    })
  )

describe("user audit: Tcp.serve", () => {
  checkFdLeaks()

  // docs/net.md says to close a connection only through conn.close(); a handler
  // that closes conn.stream itself (in `data`, or in the Effect `data` returned)
  // used to leave a zombie: no `close` until the server closed, and
  // connections() kept counting it.
  const closers: ReadonlyArray<readonly [string, (conn: { readonly stream: { close(): void } }) => void | Effect.Effect<void>]> = [
    ["in data", (conn) => conn.stream.close()],
    ["in the Effect data returned", (conn) => Effect.andThen(Effect.sleep("5 millis"), Effect.sync(() => conn.stream.close()))]
  ]
  for (const [where, data] of closers) {
    it.live(`a handler that closes conn.stream directly (${where}) gets its close reported and the count drops`, () =>
      Effect.gen(function*() {
        const reasons: Array<string> = []
        const server = yield* Tcp.serve("127.0.0.1:0", {
          data: (conn) => data(conn),
          close: (_conn, _state, reason) => void reasons.push(reason._tag)
        })
        yield* client((server.address as NetAddress.InetAddress).port, "x")
        yield* Effect.sleep("50 millis")
        assert.strictEqual(server.connections(), 0)
        assert.deepStrictEqual(reasons, ["Closed"])
      }).pipe(Effect.provide(Reactor.layer)))
  }
})
