/**
 * The accept loop shared by every DCCP transport's server.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { DccpSocket } from "../Dccp.ts"
import type * as DccpError from "../DccpError.ts"

/**
 * Accepts forever, running `handler` for each connection in its own fiber in a
 * Scope owned by `run`: interrupting `run` closes every connection it accepted.
 * Handler failures are logged, as Effect's socket servers do.
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
            Effect.catchCause((cause) => Effect.logError("Unhandled error in DccpServer", cause)),
            Effect.ensuring(Scope.close(connection, Exit.void))
          ),
          runScope
        )
      })
    ).pipe(Effect.ensuring(Scope.close(runScope, Exit.void)))
  })

