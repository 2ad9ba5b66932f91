/**
 * Where node:tls may be called from. koffi runs the reactor's poll callback
 * outside Node's callback scopes (see `inPollCallback`, src/sys/libc.ts); code
 * that drives node:tls from a fiber the reactor resumed continues from
 * `setImmediate` first.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Effect from "effect/Effect"
import { inPollCallback } from "../../sys/libc.ts"

/** Continues from the next turn of Node's event loop (`setImmediate`). @internal */
export const nextTurn: Effect.Effect<void> = Effect.callback((resume) => {
  const h = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(h))
})

/**
 * Continues where node:tls may be called: at once, or from `setImmediate` when
 * running inside a koffi poll callback (the reactor's park watcher), outside
 * Node's callback scopes. There, node:tls calling back into JavaScript (it
 * does on every read and write over a JavaScript stream) would run the
 * `process.nextTick` queue in the middle of our code — measured: a server's
 * TLSSocket took a ClientHello before its TLS state existed, and hung.
 *
 * @internal
 */
export const onNodeStack: Effect.Effect<void> = Effect.suspend(() => (inPollCallback() ? nextTurn : Effect.void))

/** Runs `f` at once, or from `setImmediate` inside a poll callback (see `onNodeStack`). @internal */
export const nodeStack = (f: () => void): void => {
  if (inPollCallback()) setImmediate(f)
  else f()
}
