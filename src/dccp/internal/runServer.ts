/**
 * The accept loop shared by every DCCP transport's server.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { DccpSocket } from "../Dccp.ts"
import * as DccpError from "../DccpError.ts"

/**
 * Whether a handler ended only because its connection closed gracefully: every
 * failure is a `DccpError` of kind `Closed` (`recv` after the peer's Close, a
 * `send` after it). That is how a connection ends, not an error.
 */
const closedGracefully = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.length > 0 &&
  cause.reasons.every((r) => Cause.isFailReason(r) && r.error instanceof DccpError.DccpError && r.error.kind === "Closed")

/**
 * Accepts forever, running `handler` for each connection in its own fiber in a
 * Scope owned by `run`: interrupting `run` closes every connection it accepted.
 * A handler that ends because its connection closed gracefully (kind `Closed`)
 * ends quietly (a debug log); other failures are logged as errors, as Effect's
 * socket servers do.
 *
 * @internal
 */
export const runServer = <R, E, _>(
  accept: Effect.Effect<DccpSocket, DccpError.DccpError, Scope.Scope>,
  handler: (socket: DccpSocket) => Effect.Effect<_, E, R>
): Effect.Effect<never, DccpError.DccpError, R> =>
  Effect.gen(function*() {
    const runScope = yield* Scope.make()
    return yield* Effect.forever(
      Effect.gen(function*() {
        const connection = yield* Scope.fork(runScope)
        const socket = yield* Effect.onError(Scope.provide(accept, connection), () => Scope.close(connection, Exit.void))
        yield* Effect.forkIn(
          handler(socket).pipe(
            Effect.catchCause((cause) =>
              closedGracefully(cause)
                ? Effect.logDebug("DccpServer: a connection closed", cause)
                : Effect.logError("Unhandled error in DccpServer", cause)
            ),
            Effect.ensuring(Scope.close(connection, Exit.void))
          ),
          runScope
        )
      })
    ).pipe(Effect.ensuring(Scope.close(runScope, Exit.void)))
  })

