/**
 * A transport's receive loop without a fiber per batch: the read operation runs
 * from the reactor driver's own delivery of the socket's readiness (a
 * `ReadinessListener`, as `Tcp.serve`'s connections use), not in a fiber that
 * parks on `WouldBlock` and is resumed for the next batch. A DCCP endpoint
 * reads a batch for every few packets its peer sends; each batch had cost a
 * fiber suspension and resumption (the Effect run loop, an async_hooks scope)
 * on top of the `recvmmsg`.
 *
 * The loop keeps the fiber loop's contract (`registration.readIo(op)` forever):
 * `op` runs until it answers `WouldBlock`, after which the readiness is
 * forgotten and the next readiness event runs it again; an `IoError` ends the
 * loop with that error; the returned Effect never succeeds, and interrupting it
 * removes the listener.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Effect from "effect/Effect"
import { IoError } from "../../IoError.ts"
import { READ, type ReadinessListener, type ScheduledIo } from "../../reactor/internal/driver.ts"
import { type Registration, scheduledIo } from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"

/**
 * Runs `op` whenever `registration`'s socket is readable, until it answers
 * `WouldBlock`, for as long as the returned Effect runs. A registration that is
 * not the reactor's own falls back to a fiber looping on `readIo`.
 *
 * @internal
 */
export const readLoop = (registration: Registration, op: () => number | WouldBlock | IoError): Effect.Effect<never, IoError> => {
  const io = scheduledIo(registration)
  if (io === undefined) return Effect.forever(registration.readIo(op), { disableYield: true })
  return Effect.callback<never, IoError>((resume) => {
    const loop = new ReadLoop(op, resume)
    const e = io.driver.listen(io, loop)
    if (e !== undefined) return resume(Effect.fail(e))
    // What arrived before the listener was installed raised no event it will see.
    loop.run(io)
    return Effect.sync(() => loop.stop(io))
  })
}

class ReadLoop implements ReadinessListener {
  readonly #op: () => number | WouldBlock | IoError
  readonly #resume: (effect: Effect.Effect<never, IoError>) => void
  #done = false
  /** Inside `op`: a nested delivery (a fiber `op` resumed waited in place) only asks for another pass. */
  #running = false
  #again = false

  constructor(op: () => number | WouldBlock | IoError, resume: (effect: Effect.Effect<never, IoError>) => void) {
    this.#op = op
    this.#resume = resume
  }

  /** A readiness event: a write event alone (the socket's send buffer drained) asks for no read. */
  ready(io: ScheduledIo): void {
    if (io.closed !== undefined || io.isReady(READ)) this.run(io)
  }

  run(io: ScheduledIo): void {
    if (this.#done) return
    if (io.closed !== undefined) return this.#end(io, Effect.fail(io.closed))
    if (this.#running) {
      this.#again = true
      return
    }
    this.#running = true
    try {
      for (;;) {
        this.#again = false
        const r = this.#op()
        if (r instanceof IoError) return this.#end(io, Effect.fail(r))
        if (io.closed !== undefined) return this.#end(io, Effect.fail(io.closed))
        if (r !== WouldBlock) continue
        io.clear(READ)
        // An event delivered while `op` ran may be for data the last read missed.
        if (!this.#again) return
      }
    } catch (defect) {
      // `ready` must not throw into the driver: the loop ends as its fiber would have, with the defect.
      this.#end(io, Effect.die(defect))
    } finally {
      this.#running = false
    }
  }

  stop(io: ScheduledIo): void {
    if (this.#done) return
    this.#done = true
    if (io.listener === this) io.driver.unlisten(io)
  }

  #end(io: ScheduledIo, exit: Effect.Effect<never, IoError>): void {
    this.stop(io)
    this.#resume(exit)
  }
}
