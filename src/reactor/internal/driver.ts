/**
 * The reactor's driver: one epoll instance, a slab of registered sources, and the
 * parked fibers waiting on them. It turns epoll events into fiber resumptions.
 *
 * The driver is not a fiber: it is a callback loop owned by the Reactor's Scope,
 * run from a libuv poll watcher on the epoll fd (park), from `setImmediate`
 * (spin), or from both in turn (backoff). A parked fiber is resumed directly
 * from that callback, synchronously, which saves a scheduler hop per wake-up.
 * After a batch of wake-ups the driver polls again at once (up to
 * `MAX_ROUNDS` rounds per turn): the fibers it resumed have usually written to
 * peers that answered meanwhile, and taking those answers in the same turn
 * saves a libuv round each. A fiber that parks while the driver is delivering
 * therefore parks at once, without trying its operation first: the driver's
 * next poll covers every source in one call.
 *
 * Dispatch allocates nothing: events are decoded from one preallocated buffer,
 * wake-ups are recorded in arrays reused for the driver's life, and stale
 * tokens are recognised by a generation number instead of a lookup. A source's
 * state is one `ScheduledIo` object with plain fields; its park Effects are
 * built once, on its first park.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as IoError from "../../IoError.ts"
import { isOk } from "../../sys/call.ts"
import * as C from "../../sys/constants.ts"
import * as epoll from "../../sys/epoll.ts"
import { layout } from "../../sys/layout.ts"
import { libc, type UvPollHandle } from "../../sys/libc.ts"
import type { IdleStrategy } from "../IdleStrategy.ts"
import { endTurn, roundBegins, roundEnds } from "./turnEnd.ts"

/** The direction a fiber waits for. @internal */
export const READ = 0
/** @internal */
export const WRITE = 1
/** @internal */
export type Direction = typeof READ | typeof WRITE
/** A wake-up for a source's listener rather than its parked fibers. */
const LISTENER = 2

/**
 * Code that owns a source's readiness instead of fibers (the fiber-less
 * connection handlers of `Tcp.serve`): the driver calls `ready` from its
 * delivery, after recording the event's readiness bits, and once more when the
 * registration is closed under it (`io.closed` is set then). `ready` must not
 * throw.
 *
 * @internal
 */
export interface ReadinessListener {
  ready(io: ScheduledIo): void
}

type Resume = (effect: Effect.Effect<void, IoError.IoError>) => void
type AnyFiber = Fiber.Fiber<unknown, unknown>

const INDEX_BITS = 0x100_0000 // 2^24 slots; the generation fills the rest of the 53-bit token
const READ_EVENTS = C.EPOLLIN | C.EPOLLPRI | C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR
const WRITE_EVENTS = C.EPOLLOUT | C.EPOLLHUP | C.EPOLLERR
const INTEREST = C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLPRI | C.EPOLLOUT | C.EPOLLET
const CAPACITY = 1024
/**
 * Polls one driver turn makes while each finds events: a busy reactor serves
 * several batches per turn of Node's event loop, and still gives the loop a turn
 * after this many.
 */
const MAX_ROUNDS = 8

const wakeOk = Effect.void

/**
 * The fibers parked on one direction of a source, in the order they parked:
 * the first inline (the common case is one), the rest in an array made on
 * demand. Each entry keeps its fiber, so that an interrupted fiber's entry is
 * found by the one cancel Effect the direction shares.
 */
class Waiters {
  resume: Resume | undefined = undefined
  fiber: AnyFiber | undefined = undefined
  more: Array<Resume | AnyFiber> | undefined = undefined

  get size(): number {
    return this.resume === undefined ? 0 : this.more === undefined ? 1 : 1 + this.more.length / 2
  }

  add(resume: Resume, fiber: AnyFiber): void {
    if (this.resume === undefined) {
      this.resume = resume
      this.fiber = fiber
    } else {
      ;(this.more ??= []).push(resume, fiber)
    }
  }

  /** Removes `fiber`'s entry; whether there was one. */
  remove(fiber: AnyFiber | undefined): boolean {
    if (this.resume === undefined) return false
    if (this.fiber === fiber) {
      this.shift()
      return true
    }
    const more = this.more
    if (more === undefined) return false
    for (let i = 1; i < more.length; i += 2) {
      if (more[i] === fiber) {
        more.splice(i - 1, 2)
        if (more.length === 0) this.more = undefined
        return true
      }
    }
    return false
  }

  /** Drops the first entry. */
  shift(): void {
    const more = this.more
    if (more === undefined || more.length === 0) {
      this.resume = undefined
      this.fiber = undefined
      this.more = undefined
      return
    }
    this.resume = more[0] as Resume
    this.fiber = more[1] as AnyFiber
    more.splice(0, 2)
    if (more.length === 0) this.more = undefined
  }
}

/**
 * One registered source: its readiness bits and the fibers parked on it. A new
 * object per registration (a stale handle to a deregistered source stays
 * closed); the slab slot it occupies is reused under a new generation.
 *
 * @internal
 */
export class ScheduledIo {
  readonly driver: Driver
  readonly index: number
  readonly token: number
  /** The fd, kept to deregister it (-1 once deregistered). */
  fd: number
  /** Whether the fd is in the epoll set yet (a lazy registration joins it at its first park). */
  added: boolean
  /** Readiness seen and not yet consumed (1 = ready). A new registration starts ready. */
  readyRead = 1
  readyWrite = 1
  /**
   * Sticky readiness: once the peer closed its side (read direction) or the
   * connection hung up or errored (both), the operation completes at once —
   * end of stream, or the error — forever; clearing never forgets it (tokio
   * keeps its closed bits the same way).
   */
  stickyRead = 0
  stickyWrite = 0
  closed: IoError.IoError | undefined = undefined
  /** The fibers parked on each direction, made at the first park (a slot a listener owns never needs them). */
  readers: Waiters | undefined = undefined
  writers: Waiters | undefined = undefined
  /** Called on each event instead of (or besides) waking fibers; set by `Driver.listen`. */
  listener: ReadinessListener | undefined = undefined
  #awaitRead: Effect.Effect<void, IoError.IoError> | undefined = undefined
  #awaitWrite: Effect.Effect<void, IoError.IoError> | undefined = undefined
  #cancelRead: Effect.Effect<void> | undefined = undefined
  #cancelWrite: Effect.Effect<void> | undefined = undefined

  constructor(driver: Driver, index: number, token: number, fd: number, added: boolean) {
    this.driver = driver
    this.index = index
    this.token = token
    this.fd = fd
    this.added = added
  }

  isReady(dir: Direction): boolean {
    return (dir === READ ? this.readyRead : this.readyWrite) === 1
  }

  /** Forgets the readiness of `dir` after an operation answered WouldBlock (or read short). */
  clear(dir: Direction): void {
    if (dir === READ) this.readyRead = this.stickyRead
    else this.readyWrite = this.stickyWrite
  }

  /** Waits for the next readiness event of `dir` (the reactor's park). */
  get awaitRead(): Effect.Effect<void, IoError.IoError> {
    return this.#awaitRead ??= Effect.callback((resume) => this.#park(READ, resume))
  }
  get awaitWrite(): Effect.Effect<void, IoError.IoError> {
    return this.#awaitWrite ??= Effect.callback((resume) => this.#park(WRITE, resume))
  }
  wait(dir: Direction): Effect.Effect<void, IoError.IoError> {
    return dir === READ ? this.awaitRead : this.awaitWrite
  }

  #park(dir: Direction, resume: Resume): Effect.Effect<void> | undefined {
    if (this.closed !== undefined) {
      resume(Effect.fail(this.closed))
      return undefined
    }
    if (!this.added) {
      const e = this.driver.add(this)
      if (e !== undefined) {
        resume(Effect.fail(e))
        return undefined
      }
    }
    ;(dir === READ ? this.readers ??= new Waiters() : this.writers ??= new Waiters()).add(resume, Fiber.getCurrent()!)
    this.driver.parked(1)
    return dir === READ
      ? this.#cancelRead ??= Effect.sync(() => this.#cancel(READ))
      : this.#cancelWrite ??= Effect.sync(() => this.#cancel(WRITE))
  }

  /** The parked fiber running this was interrupted: drop its entry. */
  #cancel(dir: Direction): void {
    if ((dir === READ ? this.readers : this.writers)?.remove(Fiber.getCurrent()) === true) this.driver.parked(-1)
  }

  /** Resumes every fiber parked on `dir`, with success or `error`, in the order they parked. */
  wake(dir: Direction, error: IoError.IoError | undefined): void {
    const waiters = dir === READ ? this.readers : this.writers
    if (waiters === undefined) return
    const n = waiters.size
    if (n === 0) return
    this.driver.parked(-n)
    const effect = error === undefined ? wakeOk : Effect.fail(error)
    // Take the entries out first: a resumed fiber may park again at once.
    const first = waiters.resume!
    const more = waiters.more
    waiters.resume = undefined
    waiters.fiber = undefined
    waiters.more = undefined
    first(effect)
    if (more !== undefined) for (let i = 0; i < more.length; i += 2) (more[i] as Resume)(effect)
  }
}

/** @internal */
export class Driver {
  readonly epfd: number
  readonly strategy: IdleStrategy
  readonly #events = new Uint8Array(CAPACITY * layout.epollEvent.size)
  readonly #view = new DataView(this.#events.buffer)
  readonly #slots: Array<ScheduledIo | undefined> = []
  readonly #free: Array<number> = []
  readonly #generation: Array<number> = []
  #registered = 0
  #waiting = 0
  #watcher: UvPollHandle | undefined = undefined
  #watcherRef = false
  #scheduled = false
  #idleTurns = 0
  #closed = false
  /** Inside `epoll_wait` and the recording of its events (not re-entrant). */
  #polling = false
  /** A harvest is delivering wake-ups and will poll again after them. */
  #delivering = false
  /** A fiber is waiting in place (`spinUntilReady`) right now. */
  #spinning = false
  /** Inside one of the driver's turns (its watcher's callback or its `setImmediate`). */
  #inTurn = false
  /**
   * Wake-ups decided by a poll and not yet delivered: slot, token, direction.
   * A poll records them and delivers them after it has read every event, so a
   * fiber it resumes may poll again itself. Arrays reused for the driver's life.
   */
  readonly #wakeIo: Array<ScheduledIo> = []
  readonly #wakeToken: Array<number> = []
  readonly #wakeDir: Array<Direction | typeof LISTENER> = []
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
    return this.#registered
  }

  /**
   * Whether the driver is delivering wake-ups and will poll again before it
   * gives Node's event loop a turn: a fiber about to wait needs no poll of its own.
   */
  get willPoll(): boolean {
    return this.#delivering
  }

  /**
   * Adds a slot for `fd`, for both directions, edge-triggered. With `lazy`, the
   * fd joins the epoll set only when a fiber first parks on it (a source whose
   * operations never block — a connection accepted and closed at once — costs
   * no `epoll_ctl`); an `epoll_ctl` failure then fails that park.
   */
  register(fd: number, lazy = false): ScheduledIo | IoError.IoError {
    if (this.#closed) return IoError.closed("register")
    const index = this.#free.pop() ?? this.#slots.length
    const gen = this.#generation[index] ?? 0
    this.#generation[index] = gen
    const io = new ScheduledIo(this, index, index + gen * INDEX_BITS, fd, false)
    if (!lazy) {
      const e = this.add(io)
      if (e !== undefined) {
        this.#free.push(index)
        return e
      }
    }
    this.#slots[index] = io
    this.#registered++
    return io
  }

  /** Puts `io`'s fd in the epoll set. */
  add(io: ScheduledIo): IoError.IoError | undefined {
    if (this.#closed) return IoError.closed("register")
    const r = epoll.ctl(this.epfd, C.EPOLL_CTL_ADD, io.fd, INTEREST, io.token)
    if (!isOk(r)) return IoError.fromFailure(r, "epoll_ctl")
    io.added = true
    return undefined
  }

  /**
   * Removes a slot: its fd leaves epoll (unless it never joined), its waiters
   * fail with `error`, and its token is retired by bumping the slot's generation.
   */
  deregister(io: ScheduledIo, error: IoError.IoError): void {
    if (io.closed !== undefined) return
    io.closed = error
    if (io.added && io.fd >= 0 && !this.#closed) epoll.ctl(this.epfd, C.EPOLL_CTL_DEL, io.fd, 0, 0)
    io.fd = -1
    if (this.#slots[io.index] === io) {
      this.#slots[io.index] = undefined
      this.#generation[io.index] = (this.#generation[io.index]! + 1) % 0x2000_0000
      this.#free.push(io.index)
      this.#registered--
    }
    io.wake(READ, error)
    io.wake(WRITE, error)
    const listener = io.listener
    if (listener !== undefined) {
      this.unlisten(io)
      listener.ready(io)
    }
  }

  /**
   * Gives `io`'s events to `listener` from now on (joining the epoll set if it
   * has not yet). A listener counts as one waiter while installed: it keeps the
   * driver watching, as a parked fiber does.
   */
  listen(io: ScheduledIo, listener: ReadinessListener): IoError.IoError | undefined {
    if (io.closed !== undefined) return io.closed
    if (!io.added) {
      const e = this.add(io)
      if (e !== undefined) return e
    }
    if (io.listener === undefined) this.parked(1)
    io.listener = listener
    return undefined
  }

  /** Removes `io`'s listener, if any (it is not called again). */
  unlisten(io: ScheduledIo): void {
    if (io.listener === undefined) return
    io.listener = undefined
    this.parked(-1)
  }

  /** Accounts for parked fibers and arms the wait when the first one parks. */
  parked(delta: number): void {
    const before = this.#waiting
    this.#waiting = before + delta
    if (before === 0 && this.#waiting > 0) this.#arm()
    // Inside a turn the watcher is unref'd when the turn ends with no fiber
    // waiting: a fiber that parks again within the same turn costs no ref/unref pair.
    else if (this.#waiting === 0 && !this.#inTurn) this.#settle()
  }

  /**
   * Collects every ready event and resumes the fibers waiting for it: a
   * zero-timeout poll, or with `timeoutMs` a wait in `epoll_wait` for the first
   * event (the block strategy). Readiness bits are set while the events are
   * read; the fibers run after, in event order. While polls find events, polls
   * again, up to `MAX_ROUNDS` times. Returns the events seen.
   */
  harvest(timeoutMs = 0): number {
    if (this.#polling || this.#closed) return 0
    const outer = !this.#delivering
    let total = 0
    let timeout = timeoutMs
    // About to wait: what the fibers wrote must leave first (the answer may depend on it).
    if (timeout > 0) endTurn()
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const n = this.#poll(timeout)
      timeout = 0
      total += n
      if (n === 0 && this.#wakeLen === 0) break
      // The round's fibers run, then their coalesced writes leave (the turn ends) before the next poll.
      roundBegins()
      if (!outer) {
        // Nested (a fiber waiting in place): deliver, and leave further polls to the outer harvest.
        try {
          this.#deliver()
        } finally {
          roundEnds()
        }
        break
      }
      this.#delivering = true
      try {
        this.#deliver()
      } finally {
        this.#delivering = false
        roundEnds()
      }
      if (n === 0) break
    }
    return total
  }

  /** One `epoll_wait` (draining a full buffer): records readiness and wake-ups. */
  #poll(timeoutMs: number): number {
    this.#polling = true
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
      this.#polling = false
    }
    this.dispatched += total
    return total
  }

  #record(flags: number, token: number): void {
    const io = this.#slots[token % INDEX_BITS]
    if (io === undefined || io.token !== token || io.closed !== undefined) return
    if (flags & (C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR)) io.stickyRead = 1
    if (flags & (C.EPOLLHUP | C.EPOLLERR)) io.stickyWrite = 1
    if (flags & READ_EVENTS) {
      io.readyRead = 1
      if (io.readers?.resume !== undefined) this.#queueWake(io, token, READ)
    }
    if (flags & WRITE_EVENTS) {
      io.readyWrite = 1
      if (io.writers?.resume !== undefined) this.#queueWake(io, token, WRITE)
    }
    if (io.listener !== undefined) this.#queueWake(io, token, LISTENER)
  }

  #queueWake(io: ScheduledIo, token: number, dir: Direction | typeof LISTENER): void {
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
      if (io.token !== this.#wakeToken[k] || io.closed !== undefined) continue
      const dir = this.#wakeDir[k]!
      if (dir !== LISTENER) io.wake(dir, undefined)
      else io.listener?.ready(io)
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
    if (strategy._tag !== "Spin" || strategy.inPlaceMicros === 0 || this.#waiting > 0 || this.#spinning || this.#polling || this.#closed) {
      return false
    }
    if (!io.added && this.add(io) !== undefined) return false
    // The waiting fiber's coalesced writes leave before it waits for the answer.
    endTurn()
    const until = performance.now() + strategy.inPlaceMicros / 1000
    this.#spinning = true
    try {
      for (;;) {
        this.harvest()
        if (io.isReady(dir) || io.closed !== undefined) {
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

  /** With no fiber waiting, the watcher no longer keeps Node's event loop alive. */
  #settle(): void {
    if (this.#waiting === 0 && this.#watcherRef) {
      this.#watcher!.unref()
      this.#watcherRef = false
    }
  }

  readonly #onReadable = (): void => {
    this.wakeups++
    this.#inTurn = true
    try {
      this.harvest()
    } finally {
      this.#inTurn = false
    }
    if (this.strategy._tag === "Backoff" && this.#waiting > 0) {
      // Activity: go back to spinning and yielding before the next park.
      this.#idleTurns = 0
      this.#schedule()
    }
    this.#settle()
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return
    this.#scheduled = true
    setImmediate(this.#onTurn)
  }

  readonly #onTurn = (): void => {
    this.wakeups++
    this.#scheduled = false
    if (this.#closed || this.#waiting === 0) return this.#settle()
    this.#inTurn = true
    try {
      this.#turn()
    } finally {
      this.#inTurn = false
    }
    this.#settle()
  }

  #turn(): void {
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
    for (const io of this.#slots) if (io !== undefined) this.deregister(io, error)
    this.#closed = true
    this.#watcher?.close()
    this.#watcher = undefined
    this.#watcherRef = false
  }
}
