/**
 * The reactor's driver: one epoll instance, a slab of registered sources, and the
 * parked fibers waiting on them. It turns epoll events into fiber resumptions.
 *
 * The driver is not a fiber: it is a callback loop owned by the Reactor's Scope,
 * run from a libuv poll watcher on the epoll fd (park), from `setImmediate`
 * (spin), or from both in turn (backoff). A parked fiber is resumed directly
 * from that callback, synchronously, which saves a scheduler hop per wake-up.
 * Dispatch allocates nothing: events are decoded from one preallocated buffer,
 * waiter lists are swapped with spare arrays, and stale tokens are recognised by
 * a generation number instead of a lookup.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Effect from "effect/Effect"
import * as IoError from "../../IoError.ts"
import { isOk } from "../../sys/call.ts"
import * as C from "../../sys/constants.ts"
import * as epoll from "../../sys/epoll.ts"
import { layout } from "../../sys/layout.ts"
import { libc, type UvPollHandle } from "../../sys/libc.ts"
import type { IdleStrategy } from "../IdleStrategy.ts"

/** The direction a fiber waits for. @internal */
export const READ = 0
/** @internal */
export const WRITE = 1
/** @internal */
export type Direction = typeof READ | typeof WRITE

type Resume = (effect: Effect.Effect<void, IoError.IoError>) => void

const INDEX_BITS = 0x100_0000 // 2^24 slots; the generation fills the rest of the 53-bit token
const READ_EVENTS = C.EPOLLIN | C.EPOLLPRI | C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR
const WRITE_EVENTS = C.EPOLLOUT | C.EPOLLHUP | C.EPOLLERR
const CAPACITY = 1024

const wakeOk = Effect.void

/**
 * One registered source: its readiness bits and the fibers parked on it.
 *
 * @internal
 */
export class ScheduledIo {
  readonly driver: Driver
  readonly index: number
  token = 0
  /** Readiness seen and not yet consumed, per direction (1 = ready). */
  readonly ready = [0, 0]
  /**
   * Sticky readiness: once the peer closed its side (read direction) or the
   * connection hung up or errored (both), the operation completes at once —
   * end of stream, or the error — forever; clearing never forgets it (tokio
   * keeps its closed bits the same way).
   */
  readonly sticky = [0, 0]
  readonly waiters: [Array<Resume>, Array<Resume>] = [[], []]
  readonly spare: [Array<Resume>, Array<Resume>] = [[], []]
  closed: IoError.IoError | undefined = undefined
  /** The fd, kept to deregister it. */
  fd = -1

  constructor(driver: Driver, index: number) {
    this.driver = driver
    this.index = index
  }

  /** Forgets the readiness of `dir` after an operation answered WouldBlock (or read short). */
  clear(dir: Direction): void {
    this.ready[dir] = this.sticky[dir]!
  }

  /** Waits for the next readiness event of `dir` (the reactor's park). */
  readonly awaitRead: Effect.Effect<void, IoError.IoError> = Effect.callback((resume) => this.#park(READ, resume))
  readonly awaitWrite: Effect.Effect<void, IoError.IoError> = Effect.callback((resume) => this.#park(WRITE, resume))

  #park(dir: Direction, resume: Resume): Effect.Effect<void> | undefined {
    if (this.closed !== undefined) {
      resume(Effect.fail(this.closed))
      return undefined
    }
    this.waiters[dir].push(resume)
    this.driver.parked(1)
    return Effect.sync(() => {
      const list = this.waiters[dir]
      const i = list.indexOf(resume)
      if (i >= 0) {
        list.splice(i, 1)
        this.driver.parked(-1)
      }
    })
  }

  /** Resumes every fiber parked on `dir`, with success or `error`. */
  wake(dir: Direction, error: IoError.IoError | undefined): void {
    const list = this.waiters[dir]
    const n = list.length
    if (n === 0) return
    // Swap in the spare list first: a resumed fiber may park again at once.
    this.waiters[dir] = this.spare[dir]
    this.spare[dir] = list
    this.driver.parked(-n)
    const effect = error === undefined ? wakeOk : Effect.fail(error)
    for (let i = 0; i < n; i++) list[i]!(effect)
    list.length = 0
  }
}

/** @internal */
export class Driver {
  readonly epfd: number
  readonly strategy: IdleStrategy
  readonly #events = new Uint8Array(CAPACITY * layout.epollEvent.size)
  readonly #view = new DataView(this.#events.buffer)
  readonly #slots: Array<ScheduledIo> = []
  readonly #free: Array<number> = []
  readonly #generation: Array<number> = []
  #waiting = 0
  #watcher: UvPollHandle | undefined = undefined
  #watcherRef = false
  #scheduled = false
  #idleTurns = 0
  #closed = false
  #dispatching = false
  /** A fiber is waiting in place (`spinUntilReady`) right now. */
  #spinning = false
  /**
   * Wake-ups decided by a poll and not yet delivered: slot, token, direction.
   * A poll records them and delivers them after it has read every event, so a
   * fiber it resumes may poll again itself. Arrays reused for the driver's life.
   */
  readonly #wakeIo: Array<ScheduledIo> = []
  readonly #wakeToken: Array<number> = []
  readonly #wakeDir: Array<Direction> = []
  #wakeLen = 0
  #wakePos = 0
  /** Events dispatched since creation (for tests and metrics). */
  dispatched = 0
  /** Zero-timeout polls made (for tests and metrics). */
  polls = 0
  /** Waits the spin strategy ended in place, without parking a fiber (for tests and metrics). */
  inPlace = 0
  /** Times the driver ran: a watcher callback or an event-loop turn it scheduled (for metrics). */
  wakeups = 0

  constructor(epfd: number, strategy: IdleStrategy) {
    this.epfd = epfd
    this.strategy = strategy
  }

  /** Fibers parked right now. */
  get waiting(): number {
    return this.#waiting
  }

  /** Sources registered right now. */
  get registered(): number {
    return this.#slots.length - this.#free.length
  }

  /** Adds a slot for `fd`, registered for both directions, edge-triggered. */
  register(fd: number): ScheduledIo | IoError.IoError {
    if (this.#closed) return IoError.closed("register")
    const index = this.#free.pop() ?? this.#slots.length
    let io = this.#slots[index]
    if (io === undefined) {
      io = new ScheduledIo(this, index)
      this.#slots[index] = io
      this.#generation[index] = 0
    }
    const gen = this.#generation[index]!
    io.token = index + gen * INDEX_BITS
    io.fd = fd
    io.closed = undefined
    // Optimistic: the first operation is tried before any event (it may well
    // succeed: data can be waiting already); its WouldBlock clears the bit.
    io.ready[READ] = 1
    io.ready[WRITE] = 1
    io.sticky[READ] = 0
    io.sticky[WRITE] = 0
    const r = epoll.ctl(this.epfd, C.EPOLL_CTL_ADD, fd, C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLPRI | C.EPOLLOUT | C.EPOLLET, io.token)
    if (!isOk(r)) {
      this.#free.push(index)
      return IoError.fromFailure(r, "epoll_ctl")
    }
    return io
  }

  /**
   * Removes a slot: its fd leaves epoll (unless `fdClosed`), its waiters fail
   * with `error`, and its token is retired by bumping the slot's generation.
   */
  deregister(io: ScheduledIo, error: IoError.IoError, token: number = io.token): void {
    // A slot is reused after deregistering: a stale handle must not touch its successor.
    if (io.closed !== undefined || io.token !== token) return
    io.closed = error
    if (io.fd >= 0 && !this.#closed) epoll.ctl(this.epfd, C.EPOLL_CTL_DEL, io.fd, 0, 0)
    io.fd = -1
    this.#generation[io.index] = (this.#generation[io.index]! + 1) % 0x2000_0000
    this.#free.push(io.index)
    io.wake(READ, error)
    io.wake(WRITE, error)
  }

  /** Accounts for parked fibers and arms or idles the wait accordingly. */
  parked(delta: number): void {
    const before = this.#waiting
    this.#waiting = before + delta
    if (before === 0 && this.#waiting > 0) this.#arm()
    else if (this.#waiting === 0 && this.#watcherRef) {
      this.#watcher!.unref()
      this.#watcherRef = false
    }
  }

  /**
   * Collects every ready event and resumes the fibers waiting for it: a
   * zero-timeout poll, or with `timeoutMs` a wait in `epoll_wait` for the first
   * event (the block strategy). Readiness bits are set while the events are
   * read; the fibers run after, in event order.
   */
  harvest(timeoutMs = 0): number {
    if (this.#dispatching || this.#closed) return 0
    this.#dispatching = true
    let total = 0
    let timeout = timeoutMs
    try {
      for (;;) {
        this.polls++
        const n = epoll.wait(this.epfd, this.#events, CAPACITY, timeout)
        timeout = 0
        if (!isOk(n) || n === 0) break
        total += n
        for (let i = 0; i < n; i++) this.#record(epoll.eventFlags(this.#view, i), epoll.eventToken(this.#view, i))
        if (n < CAPACITY) break
      }
    } finally {
      this.#dispatching = false
    }
    this.dispatched += total
    this.#deliver()
    return total
  }

  #record(flags: number, token: number): void {
    const io = this.#slots[token % INDEX_BITS]
    if (io === undefined || io.token !== token || io.closed !== undefined) return
    if (flags & (C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR)) io.sticky[READ] = 1
    if (flags & (C.EPOLLHUP | C.EPOLLERR)) io.sticky[WRITE] = 1
    if (flags & READ_EVENTS) {
      io.ready[READ] = 1
      if (io.waiters[READ].length > 0) this.#queueWake(io, token, READ)
    }
    if (flags & WRITE_EVENTS) {
      io.ready[WRITE] = 1
      if (io.waiters[WRITE].length > 0) this.#queueWake(io, token, WRITE)
    }
  }

  #queueWake(io: ScheduledIo, token: number, dir: Direction): void {
    const k = this.#wakeLen++
    this.#wakeIo[k] = io
    this.#wakeToken[k] = token
    this.#wakeDir[k] = dir
  }

  /**
   * Resumes the recorded wake-ups. A resumed fiber may poll and record more
   * (while it waits in place); whoever delivers takes the next one, so every
   * wake-up is delivered once, in order.
   */
  #deliver(): void {
    while (this.#wakePos < this.#wakeLen) {
      const k = this.#wakePos++
      const io = this.#wakeIo[k]!
      // The slot may have been deregistered (its waiters already failed) or reused since.
      if (io.token === this.#wakeToken[k] && io.closed === undefined) io.wake(this.#wakeDir[k]!, undefined)
    }
    this.#wakePos = this.#wakeLen = 0
  }

  /**
   * The spin strategy's wait in place: a fiber whose operation would block, while
   * no other fiber is parked, polls here synchronously until `io` is ready in
   * `dir` (or closed) or `inPlaceMicros` are spent. Returns whether to try the
   * operation again now; `false` means park.
   */
  spinUntilReady(io: ScheduledIo, dir: Direction): boolean {
    const strategy = this.strategy
    if (strategy._tag !== "Spin" || strategy.inPlaceMicros === 0 || this.#waiting > 0 || this.#spinning || this.#dispatching || this.#closed) {
      return false
    }
    const until = performance.now() + strategy.inPlaceMicros / 1000
    this.#spinning = true
    try {
      for (;;) {
        this.harvest()
        if (io.ready[dir] === 1 || io.closed !== undefined) {
          this.inPlace++
          return true
        }
        if (performance.now() >= until) return false
      }
    } finally {
      this.#spinning = false
    }
  }

  #arm(): void {
    if (this.#closed) return
    switch (this.strategy._tag) {
      case "Park":
        return this.#park()
      case "Spin":
      case "Block":
        return this.#schedule()
      case "Backoff":
        this.#idleTurns = 0
        return this.#schedule()
    }
  }

  #park(): void {
    if (this.#watcher === undefined) {
      this.#watcher = libc().uvPoll(this.epfd, this.#onReadable)
    }
    if (!this.#watcherRef) {
      this.#watcher.ref()
      this.#watcherRef = true
    }
  }

  readonly #onReadable = (): void => {
    this.wakeups++
    this.harvest()
    if (this.strategy._tag === "Backoff" && this.#waiting > 0) {
      // Activity: go back to spinning and yielding before the next park.
      this.#idleTurns = 0
      this.#schedule()
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return
    this.#scheduled = true
    setImmediate(this.#onTurn)
  }

  readonly #onTurn = (): void => {
    this.wakeups++
    this.#scheduled = false
    if (this.#closed || this.#waiting === 0) return
    if (this.strategy._tag === "Spin") {
      // Poll back to back until an event arrives or the budget is spent, then
      // give Node's event loop one turn (work it would run — a callback, a fiber
      // the scheduler resumes — may be what the woken fibers wait for next).
      // While this loop runs, a fiber that parks needs no turn of its own.
      const until = performance.now() + this.strategy.budgetMicros / 1000
      this.#scheduled = true
      try {
        while (this.harvest() === 0 && this.#waiting > 0 && performance.now() < until);
      } finally {
        this.#scheduled = false
      }
      if (this.#waiting > 0) this.#schedule()
      return
    }
    if (this.strategy._tag === "Block") {
      // Wait in epoll_wait for up to a slice, running the fibers each event
      // wakes at once; then give Node's event loop one turn.
      const start = performance.now()
      const slice = this.strategy.sliceMillis
      for (let left = slice; this.#waiting > 0 && left > 0; left = slice - (performance.now() - start)) {
        this.harvest(Math.max(1, Math.floor(left)))
      }
      if (this.#waiting > 0) this.#schedule()
      return
    }
    if (this.strategy._tag === "Backoff") {
      let found = this.harvest()
      for (let i = 0; found === 0 && i < this.strategy.spins && this.#waiting > 0; i++) found = this.harvest()
      this.#idleTurns = found > 0 ? 0 : this.#idleTurns + 1
      if (this.#waiting === 0) return
      if (this.#idleTurns <= this.strategy.yields) this.#schedule()
      else this.#park()
    }
  }

  /** Fails every parked fiber and stops watching; the epoll fd is closed by the caller. */
  close(error: IoError.IoError): void {
    if (this.#closed) return
    for (const io of this.#slots) this.deregister(io, error)
    this.#closed = true
    this.#watcher?.close()
    this.#watcher = undefined
  }
}
