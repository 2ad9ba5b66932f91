/**
 * Where the sans-IO engine meets a `UdpLike` and Effect's clock. The driver
 * feeds received datagrams and due timers to the engine and sends what it
 * produces, in the engine's order (transmit, then events, then re-arm the
 * timer); `Endpoint` calls it from the user's calls (user-driven) or from its
 * own fibers (reactor-driven).
 *
 * Two I/O paths: our UDP socket's synchronous fast path (batches, no Effect per
 * datagram), and any other `UdpLike` through its Effects.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { CloseReason, EngineEvent, RudpEngine } from "../engine/Connection.ts"
import { fromCloseReason, RudpError, transport } from "../RudpError.ts"
import { BATCH, type FastPath, FastPathId, hasFastPath, type UdpLike } from "../UdpLike.ts"

/**
 * Fibers waiting for something to change; `notify` wakes them all. A waiter
 * checks its condition and registers in one synchronous step, so no wake-up is
 * lost.
 *
 * @internal
 */
export class Signal {
  #waiters: Array<(effect: Effect.Effect<void>) => void> = []

  readonly wait: Effect.Effect<void> = Effect.callback<void>((resume) => {
    this.#waiters.push(resume)
    return Effect.sync(() => {
      const i = this.#waiters.indexOf(resume)
      if (i >= 0) this.#waiters.splice(i, 1)
    })
  })

  get waiting(): number {
    return this.#waiters.length
  }

  notify(): void {
    const w = this.#waiters
    if (w.length === 0) return
    this.#waiters = []
    for (let i = 0; i < w.length; i++) w[i]!(Effect.void)
  }
}

const isTestClock = (clock: Clock.Clock): boolean => "adjust" in clock

/**
 * Milliseconds of monotonic time: the clock's own under a `TestClock` (virtual
 * time), `performance.now()` otherwise (the live clock's monotonic time without
 * a BigInt per reading; the driver reads it several times per datagram).
 *
 * @internal
 */
export const clockMillis = (clock: Clock.Clock): () => number =>
  isTestClock(clock) ? () => Number(clock.monotonicTimeNanosUnsafe()) / 1e6 : () => performance.now()

/**
 * One timer on Effect's clock that can be moved earlier without waking its
 * fiber: with the live clock a `setTimeout` is replaced, with another clock
 * (the `TestClock`) a sleeping fiber is.
 *
 * @internal
 */
export class Alarm {
  readonly #clock: Clock.Clock
  readonly #fork: (effect: Effect.Effect<void>) => Fiber.Fiber<void>
  readonly #now: () => number
  #resume: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  #at = Number.POSITIVE_INFINITY
  #handle: ReturnType<typeof setTimeout> | undefined = undefined
  #sleeper: Fiber.Fiber<void> | undefined = undefined

  constructor(clock: Clock.Clock, fork: (effect: Effect.Effect<void>) => Fiber.Fiber<void>, now: () => number) {
    this.#clock = clock
    this.#fork = fork
    this.#now = now
  }

  /** Waits until `at` (ms), or until `set` moves the alarm (then it returns early). */
  until(at: number | undefined): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      this.#resume = resume
      this.#arm(at ?? Number.POSITIVE_INFINITY)
      return Effect.sync(() => {
        this.#resume = undefined
        this.#disarm()
      })
    })
  }

  /** The armed time. */
  get at(): number {
    return this.#at
  }

  /** Returns a waiting `until` now. */
  wake(): void {
    if (this.#resume === undefined) return
    this.#disarm()
    this.#fire()
  }

  /** Fires at `at` if that is earlier than the armed time. */
  pullIn(at: number | undefined): void {
    if (at === undefined || at >= this.#at || this.#resume === undefined) return
    this.#arm(at)
  }

  #arm(at: number): void {
    this.#disarm()
    this.#at = at
    if (at === Number.POSITIVE_INFINITY) return
    // Whole milliseconds, rounded up (RFC 9002's timer granularity is 1 ms): the alarm never
    // fires before the deadline, so a woken timer loop always finds something due.
    const left = at - this.#now()
    const delay = left <= 0 ? 0 : Math.ceil(left)
    if (isTestClock(this.#clock)) {
      this.#sleeper = this.#fork(Effect.andThen(this.#clock.sleep(Duration.millis(delay)), Effect.sync(() => this.#fire())))
    } else {
      this.#handle = setTimeout(() => this.#fire(), delay)
    }
  }

  #fire(): void {
    this.#handle = undefined
    this.#sleeper = undefined
    this.#at = Number.POSITIVE_INFINITY
    const resume = this.#resume
    this.#resume = undefined
    resume?.(Effect.void)
  }

  #disarm(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle)
    this.#handle = undefined
    const s = this.#sleeper
    this.#sleeper = undefined
    s?.interruptUnsafe()
    this.#at = Number.POSITIVE_INFINITY
  }
}

const shared = new Map<number, Array<Uint8Array>>()

/** `BATCH` send buffers of `size` bytes, shared by every fast-path driver (used only synchronously). */
const sharedTx = (size: number): Array<Uint8Array> => {
  let tx = shared.get(size)
  if (tx === undefined) {
    tx = Array.from({ length: BATCH }, () => new Uint8Array(size))
    shared.set(size, tx)
  }
  return tx
}

/** @internal */
export class Driver<E> {
  readonly engine: RudpEngine
  readonly udp: UdpLike<E>
  readonly fast: FastPath<E> | undefined
  #rx: Uint8Array | undefined = undefined
  readonly #tx: Array<Uint8Array>
  /** A transport failure; every later operation fails with it. */
  failure: RudpError | undefined = undefined
  connected = false
  peerClosing = false
  closedReason: CloseReason | undefined = undefined
  /** A message is ready, the engine has room again, the connection progressed or ended. */
  readonly messages = new Signal()
  readonly writable = new Signal()
  readonly progress = new Signal()
  /** Called once when the connection ends (an endpoint server removes the peer). */
  onClosed: (() => void) | undefined = undefined
  /** Counters of the driver. */
  datagramsIn = 0
  datagramsOut = 0
  droppedBeforeHandshake = 0

  constructor(engine: RudpEngine, udp: UdpLike<E>, now: () => number) {
    this.engine = engine
    this.udp = udp
    this.now = now
    this.fast = hasFastPath(udp) ? udp[FastPathId] : undefined
    // The fast path's datagrams are copied by the kernel during the synchronous send: its
    // buffers are shared by every driver of the process (a server has thousands).
    // Each as long as the largest datagram path MTU discovery may reach.
    const size = Math.max(engine.config.maxMtu, 1200)
    this.#tx = this.fast === undefined ? [new Uint8Array(size)] : sharedTx(size)
  }

  /** Milliseconds of monotonic time (`clockMillis`). */
  readonly now: () => number

  /** The error for an operation now: the transport's failure or the connection's end. */
  endError(): RudpError | undefined {
    if (this.failure !== undefined) return this.failure
    if (this.closedReason !== undefined) return fromCloseReason(this.closedReason)
    return undefined
  }

  #fail(e: E): void {
    if (this.failure !== undefined) return
    this.failure = e instanceof RudpError ? e : transport(e)
    this.engine.abort(this.now())
    this.#drainEvents()
    this.messages.notify()
    this.writable.notify()
    this.progress.notify()
  }

  // --- input -------------------------------------------------------------------------

  readonly #onDatagram = (bytes: Uint8Array): void => {
    this.datagramsIn++
    this.engine.handleDatagram(this.now(), bytes)
  }

  /** Feeds one datagram (a view valid during the call) to the engine: an endpoint server's routing. */
  receive(bytes: Uint8Array): void {
    this.#onDatagram(bytes)
  }

  /** Fast path: takes every queued datagram; returns how many. */
  feedSync(): number {
    const r = this.fast!.recvMany(this.#onDatagram)
    if (typeof r === "number") return r
    this.#fail(r)
    return 0
  }

  /** Takes every queued datagram, through the fast path when there is one. */
  readonly feed: Effect.Effect<number> = Effect.suspend(() => {
    if (this.fast !== undefined) return Effect.succeed(this.feedSync())
    const loop = (n: number): Effect.Effect<number> =>
      Effect.matchEffect(this.udp.tryRecv(this.#rx ??= new Uint8Array(65536)), {
        onFailure: (e) => Effect.sync(() => (this.#fail(e), n)),
        onSuccess: (len) => {
          if (len === undefined) return Effect.succeed(n)
          this.#onDatagram(this.#rx!.subarray(0, len))
          return loop(n + 1)
        }
      })
    return loop(0)
  })

  /** Runs the engine's due timers. */
  tick(): void {
    const at = this.engine.pollTimeout()
    const now = this.now()
    if (at !== undefined && at <= now) this.engine.handleTimeout(now)
  }

  // --- output ------------------------------------------------------------------------

  /** Fast path: sends everything the engine has, in batches. */
  flushSync(): void {
    const fast = this.fast!, tx = this.#tx, out = this.#txOut, lengths = this.#txLengths, engine = this.engine
    const now = this.now()
    for (;;) {
      const n = engine.pollTransmitBatch(now, tx, lengths)
      if (n === 0) return
      for (let i = 0; i < n; i++) out[i] = tx[i]!.subarray(0, lengths[i]!)
      this.#sendBatch(fast, n)
      if (n < tx.length) return
    }
  }

  /** The lengths of the batch's datagrams. */
  readonly #txLengths: Array<number> = []

  /** The datagrams of the batch being sent: views of `#tx`. */
  readonly #txOut: Array<Uint8Array> = []

  #sendBatch(fast: FastPath<E>, n: number): void {
    const e = fast.sendMany(this.#txOut, n)
    this.datagramsOut += n
    if (e !== undefined) this.#fail(e)
  }

  /** Sends everything the engine has. */
  readonly flush: Effect.Effect<void> = Effect.suspend(() => {
    if (this.fast !== undefined) {
      this.flushSync()
      return Effect.void
    }
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      const bytes = this.engine.pollTransmit(this.now())
      if (bytes === undefined) return Effect.void
      this.datagramsOut++
      return Effect.matchEffect(this.udp.send(bytes), {
        onFailure: (e) => Effect.sync(() => this.#fail(e)),
        onSuccess: () => loop
      })
    })
    return loop
  })

  // --- after every input -----------------------------------------------------------------

  #drainEvents(): void {
    for (let e = this.engine.pollEvent(); e !== undefined; e = this.engine.pollEvent()) this.#onEvent(e)
  }

  #onEvent(e: EngineEvent): void {
    switch (e.type) {
      case "connected": {
        this.connected = true
        // The socket is connected now (a `listen` socket connects to its first sender): its route bounds discovery.
        const limit = this.fast?.pathLimit()
        if (limit !== undefined) this.engine.setPathLimit(this.now(), limit)
        this.progress.notify()
        return
      }
      case "writable":
        this.writable.notify()
        return
      case "dropped":
        this.droppedBeforeHandshake++
        return
      case "peer-closing":
        this.peerClosing = true
        this.messages.notify()
        this.progress.notify()
        return
      case "closed":
        this.closedReason = e.reason
        this.onClosed?.()
        this.messages.notify()
        this.writable.notify()
        this.progress.notify()
        return
    }
  }

  /** Events and wake-ups after an input: messages, writability, progress. */
  settle(): void {
    this.#drainEvents()
    if (this.engine.hasMessage) this.messages.notify()
    this.progress.notify()
  }
}
