/**
 * A connection's received datagrams on their way to the application: a
 * bounded buffer and the fibers waiting in `recv`. A datagram that arrives
 * while a fiber waits is handed to it directly and resumes it inline
 * (`Effect.callback`'s resume evaluates the fiber at once), so the fiber runs
 * within the receive loop's turn. Effect's `Queue` would schedule that
 * resumption on the scheduler instead: one more turn of Node's event loop (and
 * one more `epoll_pwait`) for every datagram a waiting fiber receives.
 *
 * While the driver handles a batch of received packets the inbox is held
 * (`hold`): datagrams are buffered even when a fiber waits, and `release` at
 * the batch's end resumes the fiber once, to take the whole batch without
 * waiting again, instead of once per datagram.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as DccpError from "../DccpError.ts"

type Resume = (effect: Effect.Effect<Uint8Array, DccpError.DccpError>) => void

/** @internal */
export class Inbox {
  readonly capacity: number
  #items: Array<Uint8Array> = []
  #head = 0
  readonly #waiters: Array<Resume> = []
  /** What `take` fails with once the buffer is empty (set by `end`). */
  #end: DccpError.DccpError | undefined = undefined
  /** The end was a graceful close: a stream of the datagrams ends instead of failing. */
  #graceful = false
  /** Buffering for `release` even while a fiber waits (see `hold`). */
  #held = false

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Datagrams waiting for `take`. */
  get size(): number {
    return this.#items.length - this.#head
  }

  /** Hands `datagram` to a waiting fiber, or keeps it; false when full or ended. */
  offer(datagram: Uint8Array): boolean {
    if (this.#end !== undefined) return false
    // Held and full with a fiber waiting: it takes what is buffered now, rather than a datagram being dropped.
    if (this.#held && this.size >= this.capacity) this.#handOut()
    if (!this.#held) {
      const waiter = this.#waiters.shift()
      if (waiter !== undefined) {
        waiter(Effect.succeed(datagram))
        return true
      }
    }
    if (this.size >= this.capacity) return false
    this.#items.push(datagram)
    return true
  }

  /** Buffers what `offer` gets, even while a fiber waits, until `release`. */
  hold(): void {
    this.#held = true
  }

  /** Ends `hold`: waiting fibers take what was buffered (each resumed inline, once). */
  release(): void {
    this.#held = false
    this.#handOut()
  }

  /** Resumes waiting fibers with buffered datagrams, in order; each takes the rest it wants without waiting. */
  #handOut(): void {
    while (this.size > 0 && this.#waiters.length > 0) this.#waiters.shift()!(Effect.succeed(this.#shift()))
  }

  /** No more datagrams: `take` fails with `error` once the buffer is empty. */
  end(error: DccpError.DccpError, graceful: boolean): void {
    if (this.#end !== undefined) return
    // What was held goes to the waiting fibers before they hear the end.
    this.release()
    this.#end = error
    this.#graceful = graceful
    const waiters = this.#waiters.splice(0)
    const failure = Effect.fail(error)
    for (const w of waiters) w(failure)
  }

  #shift(): Uint8Array {
    const d = this.#items[this.#head]!
    this.#items[this.#head++] = EMPTY
    if (this.#head === this.#items.length) {
      this.#items.length = 0
      this.#head = 0
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return d
  }

  /** The next datagram: at once if one is buffered, else when one arrives. */
  readonly take: Effect.Effect<Uint8Array, DccpError.DccpError> = Effect.suspend(() => {
    if (this.size > 0) return Effect.succeed(this.#shift())
    if (this.#end !== undefined) return Effect.fail(this.#end)
    return Effect.callback<Uint8Array, DccpError.DccpError>((resume) => {
      this.#waiters.push(resume)
      // An interrupted waiter leaves the line.
      return Effect.sync(() => {
        const i = this.#waiters.indexOf(resume)
        if (i >= 0) this.#waiters.splice(i, 1)
      })
    })
  })

  /**
   * A stream's pull: every buffered datagram, or the next one to arrive; after
   * a graceful close `Cause.Done`, else the error `take` fails with.
   */
  readonly pull: Effect.Effect<readonly [Uint8Array, ...Array<Uint8Array>], DccpError.DccpError | Cause.Done> = Effect
    .suspend(() => {
      if (this.size === 0) {
        return Effect.catch(
          Effect.map(this.take, (d): readonly [Uint8Array, ...Array<Uint8Array>] => [d]),
          (e): Effect.Effect<never, DccpError.DccpError | Cause.Done> => this.#graceful ? Cause.done() : Effect.fail(e)
        )
      }
      const batch: [Uint8Array, ...Array<Uint8Array>] = [this.#shift()]
      while (this.size > 0) batch.push(this.#shift())
      return Effect.succeed(batch)
    })
}

const EMPTY = new Uint8Array(0)
