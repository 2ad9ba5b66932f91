/**
 * Shared pieces of the TLS tests: text reading, our TLS servers, typed-failure
 * extraction.
 */
import { assert } from "@effect/vitest"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as Tls from "../../src/socket/Tls.ts"

const decoder = new TextDecoder()

/** The text of a batch. */
export const text = (chunks: NonEmptyReadonlyArray<Uint8Array | string>): string =>
  chunks.map((c) => (typeof c === "string" ? c : decoder.decode(c))).join("")

/** Pulls until the text read holds `until` (returns all of it). */
export const readUntil = (pull: Socket.Reader["pull"], until: string) =>
  Effect.gen(function*() {
    let got = ""
    while (!got.includes(until)) got += text(yield* pull)
    return got
  })

/** Line reader over a pull: each `line` is one line without its CRLF; bytes after it are kept. */
export const lines = (pull: Socket.Reader["pull"]) => {
  let buffered = ""
  return Effect.gen(function*() {
    while (!buffered.includes("\n")) buffered += text(yield* pull)
    const i = buffered.indexOf("\n")
    const line = buffered.slice(0, i).replace(/\r$/, "")
    buffered = buffered.slice(i + 1)
    return line
  })
}

/** The session of an upgraded reader (fails the test when there is none). */
export const sessionOf = (reader: Socket.Reader): Tls.Session => {
  const s = Tls.session(reader)
  assert.isTrue(Option.isSome(s), "the reader has a TLS session")
  return Option.getOrThrow(s)
}

/** The typed error of a failed exit (a defect fails the test). */
export const failure = <E>(exit: Exit.Exit<unknown, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isTrue(reason !== undefined && reason._tag === "Fail", `expected a typed failure, not ${Exit.isFailure(exit) ? exit.cause : "success"}`)
  return (reason as { readonly error: E }).error
}

/** The cause of a `SocketError(SocketUpgradeError)`, with its `code` when Node gave one. */
export const upgradeCause = (e: unknown): { readonly code: string | undefined; readonly message: string; readonly cause: unknown } => {
  assert.isTrue(Socket.isSocketError(e), `a SocketError, not ${String(e)}`)
  const reason = (e as Socket.SocketError).reason
  assert.strictEqual(reason._tag, "SocketUpgradeError")
  const cause = (reason as Socket.SocketUpgradeError).cause as { code?: unknown; message?: unknown; detail?: unknown; kind?: unknown }
  return {
    code: typeof cause?.code === "string" ? cause.code : typeof cause?.kind === "string" ? cause.kind : undefined,
    message: String(cause?.detail ?? cause?.message ?? cause),
    cause
  }
}

/**
 * Serves `server` until the test's Scope closes: each connection is upgraded
 * with `options`, its session recorded, then every line read is answered in
 * upper case. `onError` receives an upgrade's failure.
 */
export const serveTls = (
  server: SocketServer.SocketServer["Service"],
  options: Socket.TlsUpgradeOptions,
  record: { sessions: Array<Tls.Session>; errors: Array<unknown> } = { sessions: [], errors: [] }
) =>
  Effect.as(
    Effect.forkScoped(server.run((socket) =>
      Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        const upgraded = yield* Effect.exit(reader.upgrade(options))
        if (Exit.isFailure(upgraded)) {
          record.errors.push(failure(upgraded))
          return
        }
        record.sessions.push(sessionOf(reader))
        for (;;) yield* writer.write(text(yield* reader.pull).toUpperCase())
      })).pipe(Effect.ignore)
    )),
    record
  )
