/**
 * One typed connection over an `effect/socket` transport: the engine under
 * `Clt` and each connection of a `Svc`. It frames and decodes what it pulls,
 * encodes and frames what it sends, runs the protocol hooks and callbacks in
 * links' order, sends heartbeats and watches for a silent peer.
 *
 * Lifetime: the owner acquires the transport in the connection's Scope, makes
 * the `Connection`, adds `beforeClose` as that Scope's last finalizer (so it
 * runs first: `onDisconnect` goes out before the writer is released), runs
 * `handshake`, forks `keepAlive` into the Scope, and closes the Scope once
 * `done` completes. Whatever ends the connection — the peer, an error, a dead
 * peer, a local `close` — completes `done` exactly once.
 *
 * @internal
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Socket from "effect/socket/Socket"
import * as Codec from "../../framing/Codec.ts"
import * as Framer from "../../framing/Framer.ts"
import type { Callback } from "../Callback.ts"
import type { ConId } from "../ConId.ts"
import * as MessagingError from "../MessagingError.ts"
import type { Link, Protocol } from "../Protocol.ts"

/** The socket side of a connection. @internal */
export interface Transport {
  readonly pull: Effect.Effect<NonEmptyReadonlyArray<Uint8Array | string>, Socket.SocketError>
  readonly writer: Socket.Writer
  readonly local: string | undefined
  readonly peer: string | undefined
  /**
   * The writer has written every byte when a write returns, and keeps no
   * reference to the buffer (effect-mio's own sockets): encode buffers may be
   * reused. Otherwise each message is copied before it is written.
   */
  readonly ownsWrites: boolean
}

/** What a connection is made of. @internal */
export interface Settings<S, R> {
  readonly id: ConId
  readonly codec: Codec.Codec<S, R>
  readonly framer: Framer.Framer
  readonly protocol: Protocol<S, R, any, any> | undefined
  readonly callback: Callback<S, R> | undefined
  readonly clock: Clock.Clock
}

type Ending = "no" | "local" | "peer" | "failed"

const textEncoder = new TextEncoder()
const NOT_DELIVERED: unique symbol = Symbol("effect-mio/Connection/notDelivered")

/** @internal */
export class Connection<S, R> implements Link<S, R, any, any> {
  readonly id: ConId
  readonly state: unknown
  readonly session: unknown
  /** Completes (once) when the connection must be torn down; fails with why. */
  readonly done: Deferred.Deferred<void, MessagingError.MessagingError> = Deferred.makeUnsafe()

  readonly #codec: Codec.Codec<S, R>
  readonly #framer: Framer.Framer
  readonly #splitter: Framer.Splitter
  readonly #protocol: Protocol<S, R, any, any> | undefined
  readonly #callback: Callback<S, R> | undefined
  readonly #clock: Clock.Clock
  readonly #transport: Transport
  readonly #main = new Codec.EncodeBuffer(512)
  readonly #spare = new Codec.EncodeBuffer(512)
  /** The main buffer is referenced by a write still in progress. */
  #writing = false
  #frames: Array<Uint8Array> = []
  #next = 0
  #handshakeDone = false
  #ending: Ending = "no"
  #failure: MessagingError.MessagingError | undefined = undefined
  #writable = true
  #lastRecv: number
  #lastSent: number
  readonly #simpleSend: boolean
  readonly #simpleRecv: boolean

  constructor(settings: Settings<S, R>, transport: Transport) {
    this.id = settings.id
    this.#codec = settings.codec
    this.#framer = settings.framer
    this.#splitter = settings.framer.splitter()
    this.#protocol = settings.protocol
    this.#callback = settings.callback
    this.#clock = settings.clock
    this.#transport = transport
    this.state = settings.protocol?.connectionState()
    this.session = settings.protocol?.session
    this.#lastRecv = this.#lastSent = settings.clock.currentTimeMillisUnsafe()
    const p = settings.protocol
    this.#simpleSend = p?.onSend === undefined && p?.onSent === undefined && settings.callback?.onSent === undefined
    this.#simpleRecv = p?.onRecv === undefined && p?.sendReply === undefined && p?.deliver === undefined &&
      settings.callback?.onRecv === undefined
    this.recvDirect = this.#makeRecvDirect()
    this.recvBatch = this.#makeRecvBatch()
  }

  // --- status ------------------------------------------------------------------------

  lastRecvMillis = (): number => this.#lastRecv
  lastSentMillis = (): number => this.#lastSent
  nowMillis = (): number => this.#clock.currentTimeMillisUnsafe()
  isOpen = (): boolean => this.#ending === "no" && this.#writable

  /** The logical status: transport open and the protocol's `isConnected`. */
  isConnected = (): boolean => this.isOpen() && this.#handshakeDone && (this.#protocol?.isConnected?.(this) ?? true)

  /** Why operations fail once the connection has ended. */
  closedError(): MessagingError.MessagingError {
    if (this.#failure !== undefined) return this.#failure
    return MessagingError.make("Closed", this.id, this.#ending === "peer" ? "the peer closed the connection" : "the connection was closed")
  }

  /**
   * Ends the connection (once): `failure` undefined for an orderly end. The
   * transport is released by the owner, which waits on `done`.
   */
  end(ending: Exclude<Ending, "no">, failure?: MessagingError.MessagingError): void {
    if (this.#ending !== "no") return
    this.#ending = ending
    this.#failure = failure
    if (ending !== "local") this.#writable = false
    Deferred.doneUnsafe(this.done, failure === undefined ? Effect.void : Effect.fail(failure))
  }

  /** Ends the connection from this side (`onDisconnect` runs in `beforeClose`). */
  readonly close: Effect.Effect<void> = Effect.sync(() => this.end("local"))

  #fail(kind: MessagingError.MessagingErrorKind, detail: string, cause?: unknown): MessagingError.MessagingError {
    const e = MessagingError.make(kind, this.id, detail, cause)
    this.end("failed", e)
    return e
  }

  /**
   * The Scope's last finalizer: `onDisconnect` for a healthy connection this
   * side closes, then no more writes.
   */
  readonly beforeClose: Effect.Effect<void> = Effect.suspend(() => {
    if (this.#ending === "no") this.end("local")
    const p = this.#protocol
    const run = this.#ending === "local" && this.#handshakeDone && this.#writable && p?.onDisconnect !== undefined
    const disconnect = run
      ? p!.onDisconnect!(this).pipe(
        Effect.timeoutOption(p!.disconnectTimeout ?? Duration.seconds(1)),
        Effect.catchCause((cause) => Effect.logDebug(`${this.id}: onDisconnect failed`, cause))
      )
      : Effect.void
    return Effect.ensuring(disconnect, Effect.sync(() => (this.#writable = false)))
  })

  // --- receiving ---------------------------------------------------------------------

  #onPullError(e: Socket.SocketError): MessagingError.MessagingError {
    if (this.#ending !== "no") return this.closedError()
    if (e.reason._tag === "SocketCloseError" && e.reason.code === 1000) {
      const truncated = this.#splitter.end()
      if (truncated !== undefined) return this.#fail("Frame", truncated.message, truncated)
      this.end("peer")
      return this.closedError()
    }
    // an abnormal close (a reset, a close code other than 1000) is a transport failure
    return this.#fail("Transport", e.message, e)
  }

  #pushChunks(chunks: NonEmptyReadonlyArray<Uint8Array | string>): MessagingError.MessagingError | undefined {
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!
      const out = this.#splitter.push(typeof c === "string" ? textEncoder.encode(c) : c)
      if (out instanceof Framer.FrameError) return this.#fail("Frame", out.message, out)
      if (this.#next === this.#frames.length) {
        this.#frames = out
        this.#next = 0
      } else {
        for (const f of out) this.#frames.push(f)
      }
    }
    return undefined
  }

  /**
   * The next frame: a buffered one, or what the next pull completes. One fiber
   * pulls at a time (so chunks reach the splitter in the order they were read);
   * another that needs a frame meanwhile waits for that pull to end, then looks
   * again. The wait costs nothing when there is no contention.
   */
  readonly #nextFrame: Effect.Effect<Uint8Array, MessagingError.MessagingError> = Effect.suspend(() => {
    if (this.#next < this.#frames.length) return Effect.succeed(this.#frames[this.#next++]!)
    if (this.#ending !== "no") return Effect.fail(this.closedError())
    if (this.#pulling) return Effect.andThen(this.#pullEnded, this.#nextFrame)
    this.#pulling = true
    return this.#pullOnce
  })

  #pulling = false
  #pullWaiters: Array<(effect: Effect.Effect<void>) => void> = []

  #releasePull(): void {
    this.#pulling = false
    const waiters = this.#pullWaiters
    if (waiters.length === 0) return
    this.#pullWaiters = []
    for (const resume of waiters) resume(Effect.void)
  }

  readonly #pullEnded: Effect.Effect<void> = Effect.callback<void>((resume) => {
    this.#pullWaiters.push(resume)
    return Effect.sync(() => {
      this.#pullWaiters = this.#pullWaiters.filter((r) => r !== resume)
    })
  })

  readonly #pullOnce: Effect.Effect<Uint8Array, MessagingError.MessagingError> = Effect.onInterrupt(
    Effect.matchEffect(Effect.suspend(() => this.#transport.pull), {
      onFailure: (e) => {
        this.#releasePull()
        return Effect.fail(this.#onPullError(e))
      },
      onSuccess: (chunks) => {
        this.#releasePull()
        const e = this.#pushChunks(chunks)
        return e !== undefined ? Effect.fail(e) : this.#nextFrame
      }
    }),
    () => Effect.sync(() => this.#releasePull())
  )

  #decode(frame: Uint8Array): R | MessagingError.MessagingError {
    const m = this.#codec.decode(frame)
    if (m instanceof Codec.CodecError) return this.#fail("Decode", m.message, m)
    this.#lastRecv = this.#clock.currentTimeMillisUnsafe()
    return m
  }

  #hook(f: (() => Effect.Effect<void, unknown>) | undefined, what: string): Effect.Effect<void, MessagingError.MessagingError> {
    return f === undefined ? Effect.void : Effect.mapError(f(), (e) => this.#fail("Protocol", `${what} failed: ${String(e)}`, e))
  }

  /** Decode, then `onRecv` and the callback (only the Effects there are hooks for). */
  #observe(frame: Uint8Array): Effect.Effect<R, MessagingError.MessagingError> {
    const m = this.#decode(frame)
    if (m instanceof MessagingError.MessagingError) return Effect.fail(m)
    const onRecv = this.#protocol?.onRecv
    const cb = this.#callback?.onRecv
    if (onRecv === undefined && cb === undefined) return Effect.succeed(m)
    const hook = this.#hook(onRecv === undefined ? undefined : () => onRecv(m, this), "onRecv")
    return Effect.as(cb === undefined ? hook : Effect.andThen(hook, Effect.suspend(() => cb(this.id, m))), m)
  }

  /** Then the scripted reply; `NOT_DELIVERED` for a message the application does not get. */
  #receive(frame: Uint8Array): Effect.Effect<R | typeof NOT_DELIVERED, MessagingError.MessagingError> {
    const p = this.#protocol
    const sendReply = p?.sendReply
    const deliver = p?.deliver
    const decide = (m: R): R | typeof NOT_DELIVERED => (deliver === undefined || deliver(m, this) ? m : NOT_DELIVERED)
    return Effect.flatMap(this.#observe(frame), (m) =>
      sendReply === undefined
        ? Effect.succeed(decide(m))
        : Effect.map(this.#hook(() => sendReply(m, this), "sendReply"), () => decide(m)))
  }

  /** The next message for the application, read by the calling fiber. */
  readonly recvDirect: Effect.Effect<R, MessagingError.MessagingError>

  /**
   * The messages of every frame buffered now — at least one, pulling when none
   * is: one Effect step per read instead of per message. A frame that fails to
   * decode ends the batch (and the connection); the next call reports it.
   */
  readonly recvBatch: Effect.Effect<Array<R>, MessagingError.MessagingError>

  #makeRecvBatch(): Effect.Effect<Array<R>, MessagingError.MessagingError> {
    if (!this.#simpleRecv) return Effect.map(this.recvDirect, (m) => [m])
    return Effect.flatMap(this.#nextFrame, (first) => {
      const m = this.#decode(first)
      if (m instanceof MessagingError.MessagingError) return Effect.fail(m)
      const out = [m]
      while (this.#next < this.#frames.length) {
        const more = this.#decode(this.#frames[this.#next++]!)
        if (more instanceof MessagingError.MessagingError) break
        out.push(more)
      }
      return Effect.succeed(out)
    })
  }

  #makeRecvDirect(): Effect.Effect<R, MessagingError.MessagingError> {
    if (this.#simpleRecv) {
      return Effect.flatMap(this.#nextFrame, (frame) => {
        const m = this.#decode(frame)
        return m instanceof MessagingError.MessagingError ? Effect.fail(m) : Effect.succeed(m)
      })
    }
    const self: Effect.Effect<R, MessagingError.MessagingError> = Effect.flatMap(this.#nextFrame, (frame) =>
      Effect.flatMap(this.#receive(frame), (m) => (m === NOT_DELIVERED ? self : Effect.succeed(m))))
    return self
  }

  /**
   * For hooks: `recv` belongs to `onConnect` (every message, through `onRecv`
   * and the callback, as links' handshake receives); afterwards the receive
   * path owns the socket.
   */
  readonly recv: Effect.Effect<R, MessagingError.MessagingError> = Effect.suspend(() =>
    this.#handshakeDone
      ? Effect.fail(MessagingError.make("Protocol", this.id, "link.recv is for onConnect only"))
      : Effect.flatMap(this.#nextFrame, (frame) => this.#observe(frame))
  )

  recvTimeout = (timeout: Duration.Input): Effect.Effect<Option.Option<R>, MessagingError.MessagingError> =>
    Effect.timeoutOption(this.recv, timeout)

  // --- sending -----------------------------------------------------------------------

  /** Encodes and frames `message` at `offset` of `buffer`; the frame's end, or an error. */
  #encodeAt(buffer: Codec.EncodeBuffer, offset: number, message: S): number | MessagingError.MessagingError {
    const framer = this.#framer
    const end = this.#codec.encodeInto(message, buffer, offset + framer.headerLength)
    if (end instanceof Codec.CodecError) return MessagingError.make("Encode", this.id, end.message, end)
    const payload = end - offset - framer.headerLength
    const bytes = buffer.reserve(end + framer.trailerLength, end)
    const sealed = framer.seal(offset === 0 ? bytes : bytes.subarray(offset), payload)
    if (sealed instanceof Framer.FrameError) return MessagingError.make("Frame", this.id, sealed.message, sealed)
    return offset + sealed
  }

  #writeBytes(bytes: Uint8Array, reused: boolean): Effect.Effect<void, MessagingError.MessagingError> {
    this.#lastSent = this.#clock.currentTimeMillisUnsafe()
    return Effect.matchEffect(this.#transport.writer.write(bytes), {
      onFailure: (e) => {
        if (reused) this.#writing = false
        return Effect.fail(this.#ending !== "no" && this.#ending !== "local" ? this.closedError() : this.#fail("Transport", e.message, e))
      },
      onSuccess: () => {
        if (reused) this.#writing = false
        return Effect.void
      }
    })
  }

  /** Writes messages as one write, without hooks or callbacks. */
  #write(messages: ReadonlyArray<S>): Effect.Effect<void, MessagingError.MessagingError> {
    if (!this.#writable) return Effect.fail(this.closedError())
    const reuse = this.#transport.ownsWrites && !this.#writing
    const buffer = reuse ? this.#main : this.#spare
    let end = 0
    for (let i = 0; i < messages.length; i++) {
      const e = this.#encodeAt(buffer, end, messages[i]!)
      if (e instanceof MessagingError.MessagingError) return Effect.fail(e)
      end = e
    }
    if (reuse) {
      this.#writing = true
      return this.#writeBytes(buffer.bytes.subarray(0, end), true)
    }
    return this.#writeBytes(buffer.bytes.slice(0, end), false)
  }

  /** Sends without hooks or callbacks (links' `re_send`). */
  resend = (message: S): Effect.Effect<void, MessagingError.MessagingError> => Effect.suspend(() => this.#write([message]))

  #hookError(what: string) {
    return (e: unknown) => MessagingError.make("Protocol", this.id, `${what} failed: ${String(e)}`, e)
  }

  #stamp(messages: Iterable<S>): Effect.Effect<ReadonlyArray<S>, MessagingError.MessagingError> {
    const onSend = this.#protocol?.onSend
    if (onSend === undefined) return Effect.succeed(Array.isArray(messages) ? messages : Array.from(messages))
    return Effect.forEach(messages, (m) => Effect.mapError(onSend(m, this), this.#hookError("onSend")))
  }

  #afterSent(messages: ReadonlyArray<S>): Effect.Effect<void, MessagingError.MessagingError> {
    const onSent = this.#protocol?.onSent
    const cb = this.#callback?.onSent
    return Effect.forEach(messages, (m) =>
      Effect.andThen(
        onSent === undefined ? Effect.void : Effect.mapError(onSent(m, this), this.#hookError("onSent")),
        cb === undefined ? Effect.void : cb(this.id, m)
      ), { discard: true })
  }

  /** Sends through `onSend`, the wire, `onSent` and the callback. */
  send = (message: S): Effect.Effect<void, MessagingError.MessagingError> =>
    this.#simpleSend ? Effect.suspend(() => this.#write([message])) : this.sendAll([message])

  /** Several messages in one write; hooks and callbacks per message. */
  sendAll = (messages: Iterable<S>): Effect.Effect<void, MessagingError.MessagingError> =>
    this.#simpleSend
      ? Effect.suspend(() => this.#write(Array.isArray(messages) ? messages : Array.from(messages)))
      : Effect.flatMap(this.#stamp(messages), (stamped) =>
        stamped.length === 0 ? Effect.void : Effect.andThen(Effect.suspend(() => this.#write(stamped)), this.#afterSent(stamped)))

  // --- handshake and keep-alive ------------------------------------------------------

  /** Runs `onConnect`; a failure ends the connection with `HandshakeFailed`. */
  readonly handshake: Effect.Effect<void, MessagingError.MessagingError> = Effect.suspend(() => {
    const onConnect = this.#protocol?.onConnect
    const done = Effect.sync(() => {
      this.#handshakeDone = true
    })
    if (onConnect === undefined) return done
    return onConnect(this).pipe(
      Effect.catchCause((cause) =>
        Effect.fail(
          this.#ending !== "no" && this.#failure !== undefined
            ? MessagingError.make("HandshakeFailed", this.id, `onConnect failed: ${this.#failure.detail}`, this.#failure)
            : this.#fail("HandshakeFailed", `onConnect failed: ${causeText(cause)}`, cause)
        )
      ),
      Effect.andThen(done)
    )
  })

  #timeoutMillis(): number {
    const t = this.#protocol?.heartbeat?.timeout
    const input = typeof t === "function" ? t(this) : t
    return input === undefined ? Infinity : Duration.toMillis(input)
  }

  /**
   * Sends a heartbeat when nothing was sent for its interval, and ends the
   * connection when the peer was silent past its timeout. Runs until the
   * connection ends.
   */
  readonly keepAlive: Effect.Effect<void> = Effect.suspend(() => {
    const hb = this.#protocol?.heartbeat
    if (hb === undefined) return Effect.void
    const interval = Duration.toMillis(hb.interval)
    const timeout = this.#timeoutMillis()
    const step: Effect.Effect<void> = Effect.suspend(() => {
      if (this.#ending !== "no") return Effect.void
      const now = this.nowMillis()
      const deadline = this.#lastRecv + timeout
      if (now >= deadline) {
        this.#fail("TimedOut", `the peer was silent for ${now - this.#lastRecv} ms (heartbeat timeout ${timeout} ms)`)
        return Effect.void
      }
      const beat = this.#lastSent + interval
      if (now >= beat) {
        return Effect.matchEffect(this.send(hb.make(this)), {
          onFailure: () => Effect.void, // the send path has ended the connection if it is broken
          onSuccess: () => step
        })
      }
      return Effect.andThen(Effect.sleep(Math.max(1, Math.min(beat, deadline) - now)), step)
    })
    return Number.isFinite(interval) && interval > 0 ? step : Effect.void
  })
}

const causeText = (cause: unknown): string => {
  const s = String(cause)
  return s.length > 300 ? `${s.slice(0, 300)}…` : s
}
