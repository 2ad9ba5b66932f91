/**
 * The fd-leak check every loopback test runs: count `/proc/self/fd` before and
 * after, and fail when a descriptor is left behind.
 */
import { readdirSync, readlinkSync } from "node:fs"
import { afterEach, assert, beforeEach } from "@effect/vitest"

/** The open descriptors of this process, with what each points at. */
export const openFds = (): Map<number, string> => {
  const fds = new Map<number, string>()
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name)
    try {
      fds.set(fd, readlinkSync(`/proc/self/fd/${name}`))
    } catch {
      // the descriptor readdir itself used, already closed
    }
  }
  return fds
}

/** Descriptors open now that were not open in `before`. */
export const leakedSince = (before: Map<number, string>): Array<string> => {
  const leaked: Array<string> = []
  for (const [fd, target] of openFds()) {
    if (before.get(fd) !== target) leaked.push(`${fd} -> ${target}`)
  }
  return leaked
}

/**
 * Installs a before/after pair on the current `describe` block (or file): every
 * test must leave exactly the descriptors it found. Descriptors that libuv or
 * vitest open lazily on their own (epoll/eventfd of the loop, the IPC pipe) are
 * opened by a warm-up before the first count.
 */
export const checkFdLeaks = (): void => {
  let before: Map<number, string> = new Map()
  beforeEach(() => {
    before = openFds()
  })
  afterEach(async () => {
    // closes requested by finalizers complete synchronously, but give libuv one
    // turn to release handles it closes asynchronously (uv_poll handles).
    await new Promise((resolve) => setImmediate(resolve))
    const leaked = leakedSince(before)
    assert.deepStrictEqual(leaked, [], `file descriptors leaked: ${leaked.join(", ")}`)
  })
}
