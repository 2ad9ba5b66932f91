/**
 * Unix sockets as a user meets them through `effect-mio` only. Each test here
 * failed before the fix it names.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { IoError, UnixDatagram, UnixListener, UnixStream } from "effect-mio"
import { existsSync, mkdtempSync, rmSync, unlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { checkFdLeaks } from "../util/fds.ts"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "user2-unix-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("user audit: Unix sockets", () => {
  checkFdLeaks()

  // Before: a restart where the new server removes the old path and binds it
  // while the old one is still shutting down: the old listener's close unlinked
  // the path — the new server's socket — and every later client got ENOENT.
  it.live("closing a listener does not unlink a path another socket has bound since", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "server.sock")
      const old = yield* UnixListener.bind(path) // unlinkOnClose by default
      unlinkSync(path) // the new server takes the path over
      const next = yield* UnixListener.bind(path)
      old.close()
      assert.isTrue(existsSync(path), "the old listener's close unlinked the new listener's path")
      const client = yield* UnixStream.connect(path)
      assert.notInstanceOf(client.peerAddr(), IoError.IoError)
      next.close()
      assert.isFalse(existsSync(path), "a listener still unlinks its own path")
    }))

  it.live("the same holds for a bound Unix datagram socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "dgram.sock")
      const old = yield* UnixDatagram.bind(path)
      unlinkSync(path)
      const next = yield* UnixDatagram.bind(path)
      old.close()
      assert.isTrue(existsSync(path), "the old socket's close unlinked the new socket's path")
      const sender = yield* UnixDatagram.unbound()
      assert.strictEqual(sender.sendTo(new Uint8Array(3), path), 3)
      next.close()
      assert.isFalse(existsSync(path))
    }))
})
