/**
 * The fiber-less handler server behind `Tcp.serve` / `Unix.serve` (models in
 * `../Handler.ts`). The listener and every accepted connection are driver
 * slots with a `ReadinessListener` instead of parked fibers: the driver calls
 * `ready` from its delivery round, which accepts a batch, or reads until the
 * socket is empty and hands each read to `Handler.data` as a view of one read
 * buffer the server shares.
 *
 * Per idle connection: the stream, its driver slot and one `HandlerConnection`
 * (links of an intrusive list, flags, the state). A send buffer exists only
 * while the kernel holds back bytes, and a fiber only while an Effect that
 * `data` returned runs (the connection's reads pause meanwhile).
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import type * as SocketServer from "effect/socket/SocketServer"
import * as check from "../../internal/check.ts"
import type * as observe from "../../internal/observe.ts"
import { IoError, make as ioError } from "../../IoError.ts"
import type * as SocketAddress from "../../net/SocketAddress.ts"
import type { IoSource } from "../../poll/IoSource.ts"
import { READ, type ReadinessListener, type ScheduledIo, WRITE } from "../../reactor/internal/driver.ts"
import * as Reactor from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import type * as Handler from "../Handler.ts"
import * as errors from "./errors.ts"
import * as metrics from "./metrics.ts"
import type { Listener } from "./StreamServer.ts"
import type { StreamIo } from "./StreamSocket.ts"

/** What the server needs of an accepted stream. @internal */
export interface Served extends StreamIo, metrics.Counted {
  peerAddr(): SocketAddress.SocketAddress | IoError
}

/** How the server treats its connections (from `Tcp.serve` / `Unix.serve`). @internal */
export interface ServeConfig<S> {
  /** Prepares an accepted stream (socket options); an error closes it. */
  readonly prepare?: ((stream: S) => IoError | undefined) | undefined
  readonly transport: "tcp" | "unix"
}

const KiB = 1024
const MAX_READ = 16 * KiB * KiB

/** The first bad serve option, or `undefined`. @internal */
export const checkServeOptions = (o: Handler.ServeOptions | undefined): string | undefined =>
  check.object("options", o) ?? check.first(
    check.integer("readSize", o?.readSize, 1, MAX_READ),
    check.integer("maxReadsPerEvent", o?.maxReadsPerEvent, 1, 4096),
    check.integer("highWaterMark", o?.highWaterMark, 1, 2 ** 31 - 1),
    check.integer("maxSendBuffer", o?.maxSendBuffer, 1, 2 ** 31 - 1)
  ) ?? (o?.highWaterMark !== undefined && o.highWaterMark > (o.maxSendBuffer ?? KiB * KiB)
    ? `highWaterMark (${o.highWaterMark}) is at most maxSendBuffer (${o.maxSendBuffer ?? KiB * KiB})`
    : undefined)

/** The first problem with a handler's shape, or `undefined`. @internal */
export const checkHandler = (h: unknown): string | undefined => {
  const bad = check.requiredObject("handler", h)
  if (bad !== undefined) return bad
  const o = h as Record<string, unknown>
  return typeof o["data"] !== "function"
    ? `handler.data is a function, not ${check.show(o["data"])}`
    : check.first(check.func("handler.open", o["open"]), check.func("handler.close", o["close"]))
}

const END: Handler.CloseReason = { _tag: "End" }
const CLOSED_BY_HANDLER: Handler.CloseReason = { _tag: "Closed" }
const SERVER_CLOSED: Handler.CloseReason = { _tag: "ServerClosed" }
const deregistered = ioError("Closed", "serve", "the connection was closed")
const encoder = new TextEncoder()

/**
 * `Handler.data` calls running now, of any server (servers of one `readSize`
 * share a buffer): a read that would start inside one waits for the next turn.
 */
let inData = 0

/** Read buffers shared by every handler server, one per size: a view of one is valid until the next read. */
const readBuffers = new Map<number, Uint8Array>()
const readBuffer = (size: number): Uint8Array => {
  let b = readBuffers.get(size)
  if (b === undefined) readBuffers.set(size, b = new Uint8Array(size))
  return b
}

/**
 * Listens with the listener `bind` opens and serves `handler` until the Scope
 * closes. `options` and `handler` were checked by the caller.
 *
 * @internal
 */
export const serve = <S extends Served, L extends Listener<S> & IoSource, State, E, R>(
  bind: Effect.Effect<L, IoError, Scope.Scope>,
  handler: Handler.Handler<State, E, R, S>,
  options: Handler.ServeOptions | undefined,
  config: ServeConfig<S>
): Effect.Effect<Handler.Server, SocketServer.SocketServerError, Reactor.Reactor | Scope.Scope | R> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const context = Context.omit(Scope.Scope)(yield* Effect.context<R>()) as Context.Context<R>
    const listener = yield* Effect.mapError(bind, errors.serverOpenError)
    const local = listener.localAddr()
    if (local instanceof IoError) return yield* Effect.fail(errors.serverOpenError(local))
    const accepted = metrics.streamGroup(context as Context.Context<never>, config.transport).accept
    const server = new HandlerServer<S, State, E, R>(reactor, listener, handler, options, config, context, accepted)
    const io = Reactor.slotUnscoped(reactor, listener.fd, false)
    if (io instanceof IoError) return yield* Effect.fail(errors.serverOpenError(io))
    const e = io.driver.listen(io, server)
    if (e !== undefined) {
      io.driver.deregister(io, deregistered)
      return yield* Effect.fail(errors.serverOpenError(e))
    }
    server.io = io
    // Added after the listener's own finalizer, so it runs first: the slot goes before the fd closes.
    yield* Effect.addFinalizer(() => server.shutdown())
    return { address: local, connections: () => server.count }
  })

/** The server: the listener's readiness listener, and what its connections share. */
class HandlerServer<S extends Served, State, E, R> implements ReadinessListener {
  readonly reactor: Reactor.Reactor
  readonly listener: Listener<S> & IoSource
  readonly handler: Handler.Handler<State, E, R, S>
  readonly config: ServeConfig<S>
  readonly context: Context.Context<R>
  readonly accepted: observe.Tally<metrics.Counted>
  readonly buf: Uint8Array
  readonly maxReads: number
  readonly highWaterMark: number
  readonly maxSendBuffer: number
  io: ScheduledIo | undefined = undefined
  /** The open connections: an intrusive doubly linked list (no per-connection entry elsewhere). */
  head: HandlerConnection<S, State> | undefined = undefined
  count = 0
  /** Fibers of Effects that `data` returned and that are still running. */
  readonly fibers = new Set<Fiber.Fiber<void, E>>()
  #again: Array<HandlerConnection<S, State>> = []
  #againScheduled = false
  #retry: ReturnType<typeof setTimeout> | undefined = undefined
  closing = false

  constructor(
    reactor: Reactor.Reactor,
    listener: Listener<S> & IoSource,
    handler: Handler.Handler<State, E, R, S>,
    options: Handler.ServeOptions | undefined,
    config: ServeConfig<S>,
    context: Context.Context<R>,
    accepted: observe.Tally<metrics.Counted>
  ) {
    this.reactor = reactor
    this.listener = listener
    this.handler = handler
    this.config = config
    this.context = context
    this.accepted = accepted
    this.buf = readBuffer(options?.readSize ?? 64 * KiB)
    this.maxReads = options?.maxReadsPerEvent ?? 16
    this.maxSendBuffer = options?.maxSendBuffer ?? KiB * KiB
    this.highWaterMark = options?.highWaterMark ?? Math.min(64 * KiB, this.maxSendBuffer)
  }

  /** The listener is readable: accepts every pending connection. */
  ready(io: ScheduledIo): void {
    if (io.closed !== undefined || this.closing) return
    for (;;) {
      const a = this.listener.accept()
      if (a === WouldBlock) {
        io.clear(READ)
        return
      }
      if (a instanceof IoError) {
        if (a.kind === "ConnectionAborted") continue
        // Out of descriptors, most likely: the connection waits in the backlog; try again shortly.
        this.log(Effect.logError("effect-mio: accept failed; retrying in 100 ms", a))
        this.#retry ??= setTimeout(() => {
          this.#retry = undefined
          if (this.io !== undefined) this.ready(this.io)
        }, 100)
        return
      }
      // The peer's address is asked of the kernel when wanted (`remoteAddress`), not kept.
      this.open(a[0])
    }
  }

  open(stream: S): void {
    const e = this.config.prepare?.(stream)
    if (e !== undefined) {
      stream.close()
      this.log(Effect.logDebug("effect-mio: could not prepare an accepted connection", e))
      return
    }
    const conn = new HandlerConnection<S, State>(this as HandlerServer<S, State, unknown, unknown>, stream)
    // A lazy slot: the fd joins the epoll set only once `open` returned with the connection still open
    // (a connection closed in `open` costs no epoll_ctl).
    const io = Reactor.slotUnscoped(this.reactor, stream.fd, true)
    if (io instanceof IoError) return this.#refuse(stream, io)
    conn.io = io
    this.link(conn)
    this.accepted.add(stream)
    const open = this.handler.open
    if (open !== undefined) {
      try {
        conn.state = open(conn)
      } catch (defect) {
        // No state: `close` is not called for it.
        conn.fail(Cause.die(defect))
        return
      }
    }
    if (conn.isOpen) {
      const e = io.driver.listen(io, conn)
      if (e !== undefined) conn.closeWith({ _tag: "Error", error: e })
    }
    conn.opened()
  }

  #refuse(stream: S, e: IoError): void {
    stream.close()
    this.log(Effect.logDebug("effect-mio: could not register an accepted connection", e))
  }

  link(conn: HandlerConnection<S, State>): void {
    const head = this.head
    conn.next = head
    if (head !== undefined) head.prev = conn
    this.head = conn
    this.count++
  }

  unlink(conn: HandlerConnection<S, State>): void {
    const { prev, next } = conn
    if (prev !== undefined) prev.next = next
    else if (this.head === conn) this.head = next
    if (next !== undefined) next.prev = prev
    conn.prev = conn.next = undefined
    this.count--
  }

  #view: Uint8Array | undefined = undefined
  /** The first `n` bytes of the read buffer: the last such view, when it has that length (steady traffic allocates none). */
  view(n: number): Uint8Array {
    const v = this.#view
    return v !== undefined && v.length === n ? v : (this.#view = this.buf.subarray(0, n))
  }

  /** Reads again for `conn` in the next turn (it used its reads, or a read could not start now). */
  again(conn: HandlerConnection<S, State>): void {
    this.#again.push(conn)
    if (this.#againScheduled) return
    this.#againScheduled = true
    setImmediate(this.#runAgain)
  }

  readonly #runAgain = (): void => {
    this.#againScheduled = false
    const list = this.#again
    this.#again = []
    for (const conn of list) if (!conn.closed) conn.ready(conn.io)
  }

  log(effect: Effect.Effect<void, never, never>): void {
    Effect.runForkWith(this.context)(effect)
  }

  /** The server's Scope closed: stop accepting, close every connection, interrupt the running Effects. */
  shutdown(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closing = true
      if (this.#retry !== undefined) clearTimeout(this.#retry)
      const io = this.io
      if (io !== undefined) {
        io.driver.unlisten(io)
        io.driver.deregister(io, deregistered)
      }
      for (let conn = this.head; conn !== undefined;) {
        const next = conn.next
        conn.closeWith(SERVER_CLOSED)
        conn = next
      }
      this.#again = []
      const fibers = Array.from(this.fibers)
      this.fibers.clear()
      return fibers.length === 0 ? Effect.void : Fiber.interruptAll(fibers)
    })
  }
}

/** Bytes the kernel did not take yet: `buf[start, end)`. */
interface SendBuffer {
  buf: Uint8Array
  start: number
  end: number
}

// A connection's state bits (one field: an idle connection is small).
const CLOSED = 1
/** `open` returned (a close inside it is reported after it). */
const OPENED = 2
/** An Effect that `data` returned runs: reads pause. */
const BUSY = 4
/** The send buffer reached the high-water mark: reads pause until it is empty. */
const PAUSED = 8
/** `end()` was called: FIN after the buffered bytes. */
const ENDING = 16
/** The peer ended: close once the buffered bytes are out. */
const PEER_ENDED = 32
/** What stops reads. */
const NO_READS = CLOSED | BUSY | PAUSED | PEER_ENDED

/** Fibers waiting in `drained` for a connection's send buffer to empty (rare: no field for them). */
const drainWaiters = new WeakMap<object, Array<(effect: Effect.Effect<void>) => void>>()

/** The reason of a connection closed inside `open`, reported once `open` returns (rare: no field for it). */
const closedInOpen = new WeakMap<object, Handler.CloseReason>()

/**
 * One connection: the handler's `Connection`, and the listener of its driver
 * slot. Eight fields; the send buffer exists only while bytes wait in it.
 */
class HandlerConnection<S extends Served, State> implements Handler.Connection<S>, ReadinessListener {
  readonly server: HandlerServer<S, State, unknown, unknown>
  readonly stream: S
  io!: ScheduledIo
  state: State = undefined as State
  prev: HandlerConnection<S, State> | undefined = undefined
  next: HandlerConnection<S, State> | undefined = undefined
  send: SendBuffer | undefined = undefined
  flags = 0

  constructor(server: HandlerServer<S, State, unknown, unknown>, stream: S) {
    this.server = server
    this.stream = stream
  }

  get closed(): boolean {
    return (this.flags & CLOSED) !== 0
  }

  get isOpen(): boolean {
    return (this.flags & CLOSED) === 0
  }

  get remoteAddress(): SocketAddress.SocketAddress | undefined {
    const a = this.stream.peerAddr()
    return a instanceof IoError ? undefined : a
  }

  get pendingBytes(): number {
    const send = this.send
    return send === undefined ? 0 : send.end - send.start
  }

  get drained(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (this.send === undefined || (this.flags & CLOSED) !== 0) return resume(Effect.void)
      let waiters = drainWaiters.get(this)
      if (waiters === undefined) drainWaiters.set(this, waiters = [])
      waiters.push(resume)
      return Effect.sync(() => {
        const i = waiters.indexOf(resume)
        if (i >= 0) waiters.splice(i, 1)
      })
    })
  }

  /** The send buffer emptied or the connection closed: resumes the fibers waiting in `drained`. */
  #wakeDrained(): void {
    const waiters = drainWaiters.get(this)
    if (waiters === undefined) return
    drainWaiters.delete(this)
    for (const resume of waiters) resume(Effect.void)
  }

  /** `open` returned: a close that happened inside it is reported now. */
  opened(): void {
    this.flags |= OPENED
    const reason = closedInOpen.get(this)
    if (reason !== undefined) {
      closedInOpen.delete(this)
      this.#report(reason)
    }
  }

  /** The driver saw an event (or closed the slot under us). */
  ready(io: ScheduledIo): void {
    if ((this.flags & CLOSED) !== 0) return
    if (io.closed !== undefined) return this.closeWith({ _tag: "Error", error: io.closed })
    if (this.send !== undefined && io.readyWrite === 1) this.#flush(this.send)
    this.#readLoop()
  }

  /** Reads until the socket is empty (or reads pause, or the per-event budget is spent), handing each read to `data`. */
  #readLoop(): void {
    const server = this.server
    if (inData > 0) {
      server.again(this)
      return
    }
    const io = this.io
    const buf = server.buf
    let reads = 0
    while ((this.flags & NO_READS) === 0 && io.readyRead === 1) {
      const r = this.stream.read(buf)
      if (r === WouldBlock) {
        io.clear(READ)
        return
      }
      if (typeof r !== "number") return this.closeWith({ _tag: "Error", error: r })
      if (r === 0) return this.#peerEnd()
      this.#deliver(r === buf.length ? buf : server.view(r))
      // A short read emptied the socket: its next data is a new edge (an end seen already stays ready).
      if (r < buf.length) io.clear(READ)
      else if (++reads === server.maxReads) {
        server.again(this)
        return
      }
    }
  }

  #deliver(bytes: Uint8Array): void {
    const server = this.server
    let r: unknown
    inData++
    try {
      r = server.handler.data(this, this.state, bytes)
    } catch (defect) {
      inData--
      return this.fail(Cause.die(defect))
    }
    inData--
    if (this.#closedByHandler()) return
    // A callback typed `void` may return anything (`(c, s, b) => c.write(b)` returns a boolean): only an Effect runs.
    if (r !== undefined && Effect.isEffect(r)) this.#run(r as Effect.Effect<void, unknown, unknown>)
  }

  /**
   * The handler closed `conn.stream` itself instead of calling `conn.close()`:
   * the connection closes as if it had (reason `Closed`), now, before the fd's
   * number can be taken by another accepted connection. `true` when it did.
   */
  #closedByHandler(): boolean {
    if ((this.flags & CLOSED) !== 0 || !this.stream.isClosed) return false
    this.closeWith(CLOSED_BY_HANDLER)
    return true
  }

  /** Runs an Effect that `data` returned, its reads paused until it completes. */
  #run(effect: Effect.Effect<void, unknown, unknown>): void {
    const server = this.server
    this.flags |= BUSY
    const fiber = Effect.runForkWith(server.context)(effect)
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return this.#settle(exit, false)
    server.fibers.add(fiber)
    fiber.addObserver((exit) => {
      server.fibers.delete(fiber)
      this.#settle(exit, true)
    })
  }

  #settle(exit: Exit.Exit<void, unknown>, resume: boolean): void {
    this.flags &= ~BUSY
    if (this.#closedByHandler()) return
    if (exit._tag === "Failure") {
      if (Cause.hasInterruptsOnly(exit.cause)) return this.closeWith({ _tag: "HandlerFailed", cause: exit.cause })
      return this.fail(exit.cause)
    }
    if (resume && (this.flags & CLOSED) === 0) this.#readLoop()
  }

  /** A callback failed: logged, and the connection closes with `HandlerFailed`. */
  fail(cause: Cause.Cause<unknown>): void {
    this.server.log(Effect.logError("Unhandled error in a connection handler", cause))
    this.closeWith({ _tag: "HandlerFailed", cause })
  }

  write(data: Uint8Array | string): boolean {
    if ((this.flags & (CLOSED | ENDING)) !== 0) return false
    const bytes = typeof data === "string" ? encoder.encode(data) : data
    if (this.send !== undefined) return this.#buffer(bytes, 0)
    if (bytes.length === 0) return true
    const r = this.stream.write(bytes)
    if (r === bytes.length) return true
    if (r instanceof IoError) {
      this.closeWith({ _tag: "Error", error: r })
      return false
    }
    // The kernel took part or none: the rest waits for writability.
    this.io.clear(WRITE)
    return this.#buffer(bytes, r === WouldBlock ? 0 : r)
  }

  /** Copies `bytes[from..]` behind what is buffered (the buffer is made, compacted or grown as needed). */
  #buffer(bytes: Uint8Array, from: number): boolean {
    const n = bytes.length - from
    const send = this.send
    const pending = send === undefined ? 0 : send.end - send.start
    const limit = this.server.maxSendBuffer
    if (pending + n > limit) {
      this.closeWith({ _tag: "SendBufferOverflow", limit })
      return false
    }
    let to: SendBuffer
    if (send === undefined) to = this.send = { buf: new Uint8Array(Math.min(limit, Math.max(4 * KiB, n))), start: 0, end: 0 }
    else {
      to = send
      if (send.end + n > send.buf.length) {
        const old = send.buf
        const grown = pending + n > old.length ? new Uint8Array(Math.min(limit, Math.max(old.length * 2, pending + n))) : old
        grown.set(old.subarray(send.start, send.end), 0)
        send.buf = grown
        send.start = 0
        send.end = pending
      }
    }
    to.buf.set(from === 0 ? bytes : bytes.subarray(from), to.end)
    to.end += n
    if (to.end - to.start >= this.server.highWaterMark) this.flags |= PAUSED
    return (this.flags & PAUSED) === 0
  }

  /** Writable: sends what is buffered; once empty, frees the buffer and resumes what waited on it. */
  #flush(send: SendBuffer): void {
    const r = this.stream.write(send.buf.subarray(send.start, send.end))
    if (r instanceof IoError) return this.closeWith({ _tag: "Error", error: r })
    if (r !== WouldBlock) send.start += r
    if (send.start < send.end) {
      this.io.clear(WRITE)
      return
    }
    this.send = undefined
    this.flags &= ~PAUSED
    this.#wakeDrained()
    if ((this.flags & ENDING) !== 0) this.#shutdownWrite()
    else if ((this.flags & PEER_ENDED) !== 0) this.closeWith(END)
  }

  end(): void {
    if ((this.flags & (CLOSED | ENDING)) !== 0) return
    this.flags |= ENDING
    if (this.send === undefined) this.#shutdownWrite()
  }

  #shutdownWrite(): void {
    const e = this.stream.shutdown("write")
    if (e !== undefined) return this.closeWith({ _tag: "Error", error: e })
    if ((this.flags & PEER_ENDED) !== 0) this.closeWith(END)
  }

  /** The peer ended its side: close too (as Node's `net` does by default), after what is buffered. */
  #peerEnd(): void {
    this.flags |= PEER_ENDED
    if (this.send === undefined) this.closeWith(END)
  }

  close(): void {
    this.closeWith(CLOSED_BY_HANDLER)
  }

  /** Closes the connection (slot first, then the fd) and reports `reason` once. Idempotent. */
  closeWith(reason: Handler.CloseReason): void {
    if ((this.flags & CLOSED) !== 0) return
    this.flags |= CLOSED
    const server = this.server
    server.unlink(this)
    const io = this.io
    if (io !== undefined) {
      io.driver.unlisten(io)
      io.driver.deregister(io, deregistered)
    }
    server.accepted.end(this.stream)
    this.stream.close()
    this.send = undefined
    this.#wakeDrained()
    if ((this.flags & OPENED) !== 0) this.#report(reason)
    else closedInOpen.set(this, reason)
  }

  #report(reason: Handler.CloseReason): void {
    const close = this.server.handler.close
    if (close === undefined) return
    try {
      close(this, this.state, reason)
    } catch (defect) {
      this.server.log(Effect.logError("Unhandled error in a connection handler's close", Cause.die(defect)))
    }
  }
}
