/**
 * Port of mio's tests/close_on_drop.rs: the server accepts and immediately
 * closes the connection; the client, registered WRITABLE and reregistered
 * READABLE on every event, reads end of stream (state Initial → AfterRead).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { expectOk } from "../util/expect.ts"

const SERVER = Token(0)
const CLIENT = Token(1)

describe("close_on_drop (mio tests/close_on_drop.rs)", () => {
  checkFdLeaks()

  // mio: close_on_drop.rs close_on_drop
  it.live("close_on_drop: the client reads end of stream after the server closes", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const srv = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(srv, SERVER, Interest.READABLE)
      const cli = yield* TcpStream.connect(expectOk(srv.localAddr()))
      yield* poll.registry.register(cli, CLIENT, Interest.WRITABLE)
      const events = Events.withCapacity(1024)

      let state: "Initial" | "AfterRead" = "Initial"
      let shutdown = false
      const deadline = Date.now() + 5000
      while (!shutdown && Date.now() < deadline) {
        yield* poll.poll(events, 500)
        for (const event of events) {
          if (event.isReadable()) {
            if (event.token === SERVER) {
              const [s] = expectOk(srv.accept())
              s.close() // dropped at once
            } else {
              assert.strictEqual(event.token, CLIENT)
              if (state === "Initial") {
                cli.read(new Uint8Array(4096)) // mio logs whatever this returns
                state = "AfterRead"
              }
              const r = cli.read(new Uint8Array(1024))
              if (r === WouldBlock) assert.fail("WouldBlock after a readable event and a first read")
              assert.strictEqual(expectOk(r), 0, "the client socket should not be readable")
              shutdown = true
            }
            yield* poll.registry.reregister(cli, CLIENT, Interest.READABLE)
          }
          if (event.isWritable()) {
            assert.notStrictEqual(event.token, SERVER, "received writable for token 0")
            yield* poll.registry.reregister(cli, CLIENT, Interest.READABLE)
          }
        }
      }
      assert.isTrue(shutdown)
      assert.strictEqual(state, "AfterRead")
    }))
})
