/**
 * The `effect/socket` `Socket` over a byte-stream source (TCP or Unix stream),
 * driven by the reactor.
 *
 * - `reader`: acquiring it opens a connection (a client dials; a server-side
 *   socket attaches to its accepted connection, once); the acquisition Scope owns
 *   the connection. A server-side socket is connected from the start, so its
 *   writer works without a reader; once its connection is closed, writes fail. `pull` reads what is there — one `recv`, then more while the
 *   buffer fills, up to `maxChunksPerPull` — and waits for readiness only when
 *   nothing is. Every close fails `pull` with a `SocketCloseError`: code 1000
 *   for an orderly end of stream, 1006 when the connection was torn down here
 *   (its Scope closed under a waiting `pull`), as Effect's `NodeSocket` and
 *   `fromWebSocket` report, or the code of a `CloseEvent` written locally.
 * - `writer`: detached from connections. Writes wait while disconnected; each
 *   write is written completely (waiting for writability as needed) before the
 *   next starts, so concurrent writes never interleave; `writeAll` is one
 *   `writev` when the socket takes it. Releasing the writer Scope shuts down the
 *   write half. A `CloseEvent` shuts down both halves; the reader then fails
 *   with that code.
 * - `upgrade`: TLS in place (`./tls.ts`). The connection then carries a
 *   `ConnectionLayer`: `pull` and the writer go through it, carrying plaintext.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Socket from "effect/socket/Socket"
import * as check from "../../internal/check.ts"
import * as IoErrorModule from "../../IoError.ts"
import { IoError } from "../../IoError.ts"
import type { Shutdown } from "../../net/internal/SocketBase.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type { IoSource } from "../../poll/IoSource.ts"
import { READ, type ScheduledIo } from "../../reactor/internal/driver.ts"
import * as Reactor from "../../reactor/Reactor.ts"
import { atTurnEnd, type TurnEnd } from "../../reactor/internal/turnEnd.ts"
import type { Registration } from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import * as errors from "./errors.ts"
import { copyOut } from "./payloadPool.ts"
import * as tls from "./tls.ts"

/** What the adapter needs of a stream source. @internal */
export interface StreamIo extends IoSource {
  read(buf: Uint8Array): number | WouldBlock | IoError
  write(buf: Uint8Array): number | WouldBlock | IoError
  writev(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError
  shutdown(how: Shutdown): IoError | undefined
}

/**
 * Options of the reader: its buffer sizes, and the TLS role of its `upgrade`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReaderOptions {
  /** Bytes per read (default 64 KiB). */
  readonly chunkSize?: number | undefined
  /** Reads one pull may gather while the buffer keeps filling (default 16). */
  readonly maxChunksPerPull?: number | undefined
  /**
   * The role `reader.upgrade` takes in the TLS handshake, as `NodeSocket`'s
   * option of the same name: `true` answers as the TLS server (needs `key` and
   * `cert`), `false` starts the handshake as the client. Default: the socket's
   * own side — `false` for a socket that dials (`connect`), `true` for one a
   * `SocketServer` accepted (`listen`).
   *
   * @since 0.2.0
   */
  readonly tlsServer?: boolean | undefined
}

/**
 * What a connection carries above its stream once upgraded (TLS): `pull` and
 * the writer go through it instead of the stream.
 *
 * @internal
 */
export interface ConnectionLayer {
  readonly pull: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError>
  /** Writes the buffers in order; the caller may reuse them once this succeeds. */
  readonly write: (bufs: ReadonlyArray<Uint8Array>) => Effect.Effect<void, Socket.SocketError>
  /** A `CloseEvent` was written: ends the connection now; the reader fails with `code`. */
  readonly close: (code: number, reason: string | undefined) => void
  /** The writer's Scope was released: ends the write side. */
  readonly endWrite: Effect.Effect<void>
  /** The connection is closing (its Scope): tears the layer down, failing a waiting pull. */
  readonly destroy: () => void
}

/**
 * Options of a client `Socket` beyond its reader's buffers.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientOptions extends ReaderOptions {
  /**
   * What a write does while no reader holds a connection (before the first
   * reader is acquired, or after its Scope closed). `"wait"` (default, Effect's
   * own `Socket` contract, as `NodeSocket` does) waits for the next reader's
   * connection — possibly forever; bound it with `Effect.timeout`. `"fail"`
   * fails at once with a `SocketWriteError` whose cause has kind `NotConnected`.
   */
  readonly disconnectedWrites?: "wait" | "fail" | undefined
  /** Fail the reader's acquisition with `SocketOpenError` kind `Timeout` after this long. */
  readonly openTimeout?: Duration.Input | undefined
}

/** A writer holding bytes staged for a connection: what closing and upgrading it need. @internal */
export interface Stager {
  /** Sends what is staged now (a rest the socket does not take is written by a fiber of its own). */
  flushStage(): void
  /** Waits until such a rest is written. */
  readonly settled: Effect.Effect<void>
}

/** A live connection: the stream, its reactor registration, and what its reader and writer learnt. @internal */
export class Connection {
  readonly stream: StreamIo
  readonly registration: Registration
  /** The registration's slot in our driver: the pull's fast path reads its readiness bits. */
  readonly io: ScheduledIo | undefined
  closeCode: number | undefined = undefined
  closeReason: string | undefined = undefined
  /** An error met while gathering more data, reported by the next pull. */
  pending: IoError | undefined = undefined
  /** The peer ended the stream (a read returned 0): an orderly close, code 1000. */
  ended = false
  /** Closed here (its Scope, or the server's): a pull that finds it so reports 1006. */
  tornDown = false
  /** Set by an `upgrade` (TLS): reads and writes go through it from then on. */
  layer: ConnectionLayer | undefined = undefined

  /** The peer, for errors to name (formatted only then: an accept allocates no text). */
  readonly peer: string | SocketAddress.SocketAddress | undefined

  constructor(stream: StreamIo, registration: Registration, peer?: string | SocketAddress.SocketAddress) {
    this.stream = stream
    this.registration = registration
    this.io = Reactor.scheduledIo(registration)
    this.peer = peer
  }

  /** `e` naming this connection's peer (`recv ECONNRESET 127.0.0.1:7000`), when it names no address. */
  at(e: IoError): IoError {
    if (e.address !== undefined || this.peer === undefined) return e
    return IoErrorModule.during(e, e.syscall, typeof this.peer === "string" ? this.peer : SocketAddress.format(this.peer))
  }

  get isOpen(): boolean {
    return !this.registration.isClosed() && !this.stream.isClosed
  }

  /**
   * The close code a pull reports: a `CloseEvent`'s, else 1000 for an orderly
   * end of stream, else 1006 for a local teardown (Effect's abnormal closure).
   */
  get code(): number {
    return this.closeCode ?? (this.ended || !this.tornDown ? 1000 : 1006)
  }

  /** The writer holding bytes staged for this connection in this turn (see `StreamWriter`). */
  stager: Stager | undefined = undefined
  /** Pulls that returned data: a write after one answers it, and goes straight to the socket. */
  reads = 0

  /** Sends what is staged, tears down a layer, deregisters (failing parked fibers) and closes the fd. Idempotent. */
  close(): void {
    if (this.stager !== undefined && this.isOpen) this.stager.flushStage()
    this.tornDown = true
    this.layer?.destroy()
    this.registration.deregister()
    this.stream.close()
  }
}

const encoder = new TextEncoder()

/** Most bytes one read asks for. */
const MAX_CHUNK = 16 * 1024 * 1024
/** Most reads one pull gathers. */
const MAX_CHUNKS = 4096

/**
 * The first bad reader option, or `undefined`. Checked by `connect` and
 * `listen` before anything opens.
 *
 * @internal
 */
export const checkReaderOptions = (o: ReaderOptions | undefined): string | undefined =>
  check.first(
    check.integer("chunkSize", o?.chunkSize, 1, MAX_CHUNK),
    check.integer("maxChunksPerPull", o?.maxChunksPerPull, 1, MAX_CHUNKS),
    check.boolean("tlsServer", o?.tlsServer)
  )

/**
 * The first bad client option (the options object, the reader's, `openTimeout`),
 * or `undefined`.
 *
 * @internal
 */
export const checkClientOptions = (o: ClientOptions | undefined): string | undefined => {
  const bad = check.object("options", o) ?? checkReaderOptions(o) ??
    check.oneOf("disconnectedWrites", o?.disconnectedWrites, ["wait", "fail"])
  if (bad !== undefined || o?.openTimeout === undefined) return bad
  const timeout = check.duration("openTimeout", o.openTimeout, true)
  return typeof timeout === "string" ? timeout : undefined
}

/**
 * A client `Socket`: each reader acquisition runs `dial` (which connects and
 * registers, its resources owned by the acquisition's Scope), bounded by
 * `openTimeout` when given. `options` were checked by `checkClientOptions`.
 *
 * @internal
 */
export const client = (
  dial: Effect.Effect<Connection, IoError, Scope.Scope>,
  options: ClientOptions | undefined,
  address?: string
): Socket.Socket => {
  const timeout = options?.openTimeout === undefined ? undefined : check.duration("openTimeout", options.openTimeout, true)
  const timed = timeout === undefined || typeof timeout === "string" || !Duration.isFinite(timeout)
    ? dial
    : Effect.timeoutOrElse(dial, {
      duration: timeout,
      orElse: () => Effect.fail(IoErrorModule.make("TimedOut", "connect", "timeout waiting for open", address))
    })
  return make(Effect.mapError(timed, errors.openError), {
    ...options,
    reconnects: true,
    failDisconnected: options?.disconnectedWrites === "fail"
  })
}

/** What `make` takes besides the reader's options. @internal */
export interface SocketOptions extends ReaderOptions {
  readonly reconnects: boolean
  readonly failDisconnected?: boolean | undefined
  /** A connection that exists already (an accepted one): writes need no reader. */
  readonly initial?: Connection | undefined
}

/**
 * Builds the `Socket` from an `open` that yields a registered, connected
 * `Connection` whose resources belong to the Scope it runs in.
 *
 * @internal
 */
export const make = (open: Effect.Effect<Connection, Socket.SocketError, Scope.Scope>, options: SocketOptions): Socket.Socket =>
  new StreamSocket(open, options)

/**
 * An accepted connection's `Socket`: its reader attaches to `conn` once (a
 * second acquisition fails, as does one after the connection closed), its
 * writer works from the start.
 *
 * @internal
 */
export const accepted = (conn: Connection, options: ReaderOptions | undefined): Socket.Socket =>
  new StreamSocket(undefined, options, conn)

/** The effect/socket `Socket`: one object per socket; its reader and writer are made on acquisition. */
class StreamSocket implements Socket.Socket {
  readonly [Socket.TypeId]: typeof Socket.TypeId = Socket.TypeId
  /** The connection writes go to (`undefined` while disconnected). */
  current: Connection | undefined
  /** Dials (a client) or attaches (an accepted socket: `undefined`, the connection is `current`). */
  readonly #open: Effect.Effect<Connection, Socket.SocketError, Scope.Scope> | undefined
  readonly #options: SocketOptions | ReaderOptions | undefined
  /** Open while a connection exists; writes made without one wait on it (clients only). */
  #connected: Latch.Latch | undefined = undefined
  /** An accepted socket's reader was acquired. */
  #attached = false
  /** No next connection will come: writes without one fail. */
  ended = false
  #writer: StreamWriter | undefined = undefined

  constructor(open: Effect.Effect<Connection, Socket.SocketError, Scope.Scope> | undefined, options: SocketOptions | ReaderOptions | undefined, conn?: Connection) {
    this.#open = open
    this.#options = options
    this.current = conn ?? (options as SocketOptions | undefined)?.initial
  }

  /** Whether a later reader may bring a connection (a client socket). */
  get reconnects(): boolean {
    return (this.#options as SocketOptions | undefined)?.reconnects === true
  }

  get failDisconnected(): boolean {
    return (this.#options as SocketOptions | undefined)?.failDisconnected === true
  }

  get connected(): Latch.Latch {
    return this.#connected ??= Latch.makeUnsafe(this.current !== undefined)
  }

  get reader(): Effect.Effect<Socket.Reader, Socket.SocketError, Scope.Scope> {
    const open = this.#open
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.scope, (scope) => {
        if (open === undefined) {
          const conn = this.current
          if (this.#attached || conn === undefined || !conn.isOpen) {
            return Effect.fail(errors.openError(new IoError({ kind: "Closed", errno: 0, syscall: "accept4", detail: "an accepted connection cannot be opened twice" })))
          }
          this.#attached = true
          return this.#attach(conn, scope)
        }
        return Effect.flatMap(restore(open), (conn) => this.#attach(conn, scope))
      })
    )
  }

  #attach(conn: Connection, scope: Scope.Scope): Effect.Effect<Socket.Reader> {
    this.current = conn
    this.#connected?.openUnsafe()
    const reader = new StreamReader(conn, this.#options, scope, this.#options?.tlsServer ?? !this.reconnects)
    return Effect.as(
      Scope.addFinalizerExit(scope, () => {
        this.#release(conn)
        return Effect.void
      }),
      reader
    )
  }

  #release(conn: Connection): void {
    if (this.current === conn) {
      this.current = undefined
      this.#connected?.closeUnsafe()
      if (!this.reconnects) this.ended = true
    }
    conn.close()
  }

  /** Each acquisition adds the writer's one finalizer to its Scope (no resource is acquired: the writer is the socket's). */
  get writer(): Effect.Effect<Socket.Writer, never, Scope.Scope> {
    return Effect.flatMap(Effect.scope, (scope) => {
      const writer = this.#writer ??= new StreamWriter(this)
      return Effect.as(Scope.addFinalizerExit(scope, writer.finalizer), writer)
    })
  }

  /** Ends the write side of the current connection (the writer's Scope was released). */
  endWrite(): Effect.Effect<void> {
    const conn = this.current
    if (conn === undefined || !conn.isOpen) return Effect.void
    if (conn.layer !== undefined) return conn.layer.endWrite
    conn.stream.shutdown("write")
    return Effect.void
  }
}

/**
 * Read buffers shared by every connection, one per chunk size: a pull copies
 * what it read out before it returns, and JavaScript runs one pull at a time,
 * so a connection holds no buffer of its own while it waits.
 */
const readBuffers = new Map<number, Uint8Array>()
const readBuffer = (size: number): Uint8Array => {
  let b = readBuffers.get(size)
  if (b === undefined) {
    b = new Uint8Array(size)
    readBuffers.set(size, b)
  }
  return b
}

/** What a pull that was waiting on the stream finds once the connection was upgraded. */
const LAYERED = Symbol("effect-mio/StreamSocket/layered")

type Gathered = NonEmptyReadonlyArray<Uint8Array> | 0 | typeof LAYERED | WouldBlock | IoError

/**
 * A reader of one connection. `pull` reads what is there — one recv, then more
 * while the buffer keeps filling, up to `maxChunks` — and waits for readiness
 * only when nothing is. A read shorter than the buffer emptied the socket, so
 * it forgets the read readiness (as tokio does): the next pull made while the
 * reactor's driver is delivering parks at once, without a `recv` that would
 * only say `EAGAIN` (the driver polls every source once its deliveries are
 * done); a pull made elsewhere tries the `recv` first.
 */
class StreamReader implements Socket.Reader, tls.ReaderConfig {
  readonly conn: Connection
  readonly pull: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError>
  readonly chunkSize: number
  readonly maxChunks: number
  readonly scope: Scope.Scope
  readonly server: boolean
  readonly #buf: Uint8Array
  #afterReadable: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> | undefined = undefined

  constructor(conn: Connection, options: ReaderOptions | undefined, scope: Scope.Scope, server: boolean) {
    this.conn = conn
    this.chunkSize = options?.chunkSize ?? 65536
    this.maxChunks = options?.maxChunksPerPull ?? 16
    this.scope = scope
    this.server = server
    this.#buf = readBuffer(this.chunkSize)
    this.pull = Effect.suspend(() => this.#step())
  }

  upgrade(options?: Socket.TlsUpgradeOptions): Effect.Effect<void, Socket.SocketError> {
    return Effect.suspend(() => {
      // What was written in plaintext leaves before the handshake does.
      const stager = this.conn.stager
      if (stager === undefined) return tls.upgrade(this.conn, options, this)
      stager.flushStage()
      return Effect.andThen(stager.settled, tls.upgrade(this.conn, options, this))
    })
  }

  /** Waits for the next read readiness, then pulls. */
  get #parked(): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> {
    const io = this.conn.io!
    // One continuation for both outcomes; a failed wait means the registration closed (`io.closed`).
    return this.#afterReadable ??= Effect.matchCauseEffect(io.awaitRead, {
      onSuccess: (_) => this.pull,
      onFailure: (cause) => io.closed !== undefined ? this.#fail(io.closed) : Effect.failCause(Cause.map(cause, (e) => errors.readError(this.conn.at(e))))
    })
  }

  #step(): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> {
    const conn = this.conn
    if (conn.layer !== undefined) return conn.layer.pull
    if (conn.pending !== undefined) {
      const e = conn.pending
      conn.pending = undefined
      return this.#fail(e)
    }
    const io = conn.io
    if (io === undefined) return this.#slowPull()
    for (;;) {
      if (io.closed !== undefined) return this.#fail(io.closed)
      if (io.readyRead === 0 && io.driver.willPoll) return this.#parked
      const r = this.#gather(io)
      if (r === WouldBlock) {
        io.clear(READ)
        if (io.driver.spinUntilReady(io, READ)) continue
        return this.#parked
      }
      return this.#done(r)
    }
  }

  #done(r: Exclude<Gathered, WouldBlock>): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> {
    if (r === 0) {
      this.conn.ended = true
      return Effect.fail(errors.closeError(this.conn.code, this.conn.closeReason))
    }
    if (r === LAYERED) return this.conn.layer!.pull
    if (r instanceof IoError) return this.#fail(r)
    return Effect.succeed(r)
  }

  /** A registration that is not our driver's (a Reactor of the user's): `readIo`. */
  #slowPull(): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> {
    return Effect.matchEffect(this.conn.registration.readIo(() => this.#gather(undefined)), {
      onFailure: (e) => this.#fail(e),
      onSuccess: (r) => this.#done(r)
    })
  }

  #fail(e: IoError): Effect.Effect<never, Socket.SocketError> {
    const conn = this.conn
    return Effect.fail(e.kind === "Closed" ? errors.closeError(conn.code, conn.closeReason) : errors.readError(conn.at(e)))
  }

  /**
   * Reads what is there — one recv, then more while the buffer keeps filling —
   * copying each read out of the shared buffer at once, inside the operation:
   * no other fiber runs between a read and its copy. `0` is the end of stream.
   */
  #gather(io: ScheduledIo | undefined): Gathered {
    const conn = this.conn
    // Upgraded while this pull waited: the bytes are the layer's (ciphertext) now.
    if (conn.layer !== undefined) return LAYERED
    const chunkSize = this.chunkSize
    const buf = this.#buf
    const first = conn.stream.read(buf)
    if (typeof first !== "number" || first === 0) return first
    conn.reads++
    const chunks: [Uint8Array, ...Array<Uint8Array>] = [copyOut(buf, first)]
    let n = first
    while (n === chunkSize && chunks.length < this.maxChunks) {
      const r = conn.stream.read(buf)
      if (r === WouldBlock) {
        n = 0
        break
      }
      if (r === 0) return chunks
      if (r instanceof IoError) {
        conn.pending = r
        return chunks
      }
      n = r
      chunks.push(copyOut(buf, n))
    }
    // Short (or ended in WouldBlock): the socket is empty now; its next data is a new edge.
    if (n < chunkSize && io !== undefined) io.clear(READ)
    return chunks
  }
}

/** Most bytes a writer stages in one turn; a write that would overflow them sends them, and itself, at once. */
const STAGE_SIZE = 64 * 1024
/** Largest write that is copied into the stage; a larger one is sent at once, after what is staged. */
const COPY_MAX = 16 * 1024
/** Stage buffers kept for the next turn's writers (a writer holds one only within a turn). */
const stagePool: Array<Uint8Array> = []
const STAGE_POOL_MAX = 16

/**
 * The writer of a socket, detached from connections: writes wait while a
 * client is disconnected; concurrent writes never interleave; `writeAll` is
 * one `writev` when the socket takes it.
 *
 * Writes of one turn are coalesced (issue 12). The first write of a turn that
 * finds nothing queued goes straight to the socket (a lone request or
 * response keeps its latency) and opens the turn's window, as does a write
 * that follows a read of its connection (with what is staged before it);
 * other writes of the same turn — from any fiber — are copied into a stage
 * and complete at once, and the stage leaves as one `send` when the turn ends
 * (after the reactor's
 * round of deliveries, or when the JavaScript running now returns to Node:
 * src/reactor/internal/turnEnd.ts), so a burst of writes wakes the peer once,
 * not once per write (Node's `Writable` coalesces writes made while one is
 * pending the same way). A write larger
 * than `COPY_MAX`, or one the stage cannot hold (`STAGE_SIZE`), is sent at
 * once after what is staged (one `writev`). A write the socket does not take
 * whole waits for writability, holding the lock that later writes queue on
 * (byte-bounded backpressure: at most one stage is buffered); so does the
 * rest of a stage the socket took only part of, written by a fiber of its own.
 *
 * Errors: a write sent at once fails with its own error. A staged write has
 * completed before its bytes are sent; a failure of that `send` is reported
 * by the next write on the socket (the reader sees the connection's end or
 * reset as well). Ordering: bytes leave in the order the writes were made.
 * Closing the connection, writing a `CloseEvent` or releasing the writer sends
 * what is staged first.
 */
class StreamWriter implements Socket.Writer, TurnEnd, Stager {
  readonly #socket: StreamSocket
  #lock: Semaphore.Semaphore | undefined = undefined
  /** Writers inside or queued on the lock; while 0, a write may go straight to the socket. */
  #queued = 0
  /** A write went straight to the socket in this turn: later writes of the turn are staged. */
  #window = false
  /** The connection's `reads` when the last write went straight to the socket. */
  #readsAtSend = 0
  /** This turn's staged bytes (`#staged` of them), for `#stageConn`. */
  #stage: Uint8Array | undefined = undefined
  #staged = 0
  #stageConn: Connection | undefined = undefined
  /** The rest of a stage is being written by a fiber of its own (it holds the lock). */
  #rest = false
  /** A failure to send staged bytes, whose writes had completed: the next write reports it. */
  #failed: Socket.SocketError | undefined = undefined

  constructor(socket: StreamSocket) {
    this.#socket = socket
  }

  #finalizer: (() => Effect.Effect<void>) | undefined = undefined
  /** What releasing a writer Scope runs: sends what is staged, then ends the write side. */
  get finalizer(): () => Effect.Effect<void> {
    return this.#finalizer ??= () => this.release(Effect.suspend(() => this.#socket.endWrite()))
  }

  write(chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> {
    if (Socket.isCloseEvent(chunk)) return this.#close(chunk)
    return Effect.suspend(() => typeof chunk === "string" ? this.#sendText(chunk) : this.#send(chunk))
  }

  /**
   * A text write: a write of the turn that would be staged is encoded straight
   * into the stage (no intermediate bytes per write: Effect RPC's ndjson writes
   * one string per request and response); any other goes as its UTF-8 bytes.
   */
  #sendText(text: string): Effect.Effect<void, Socket.SocketError> {
    const conn = this.#socket.current
    if (
      this.#window && this.#queued === 0 && this.#failed === undefined && text.length <= COPY_MAX &&
      conn !== undefined && conn.layer === undefined && conn.isOpen && conn.reads === this.#readsAtSend
    ) {
      this.#stageFor(conn)
      const staged = this.#staged
      const { read, written } = encoder.encodeInto(text, this.#takeStage().subarray(staged))
      if (read === text.length) {
        this.#setStaged(conn, staged + written)
        return Effect.void
      }
      // The stage cannot hold it: sent with what is staged, as bytes (what encodeInto wrote past `#staged` is ignored).
    }
    return this.#send(encoder.encode(text))
  }

  writeAll(chunks: NonEmptyReadonlyArray<Uint8Array | string>): Effect.Effect<void, Socket.SocketError> {
    return Effect.suspend(() => this.#send(chunks.length === 1 ? chunks[0]! : chunks))
  }

  get #permit(): Semaphore.Semaphore {
    return this.#lock ??= Semaphore.makeUnsafe(1)
  }

  /** The connection to write to, or what to do without one. */
  #connection(): Connection | Effect.Effect<never, Socket.SocketError> | undefined {
    const socket = this.#socket
    const conn = socket.current
    if (conn !== undefined && conn.isOpen) return conn
    if (socket.ended || (!socket.reconnects && conn !== undefined)) return Effect.fail(errors.writeError(closedSocket))
    if (socket.failDisconnected) return Effect.fail(errors.writeError(notConnected))
    return undefined
  }

  #send(data: Uint8Array | string | ReadonlyArray<Uint8Array | string>): Effect.Effect<void, Socket.SocketError> {
    const conn = this.#connection()
    if (conn === undefined) return Effect.flatMap(this.#socket.connected.await, () => this.#send(data))
    if (!(conn instanceof Connection)) return conn
    const bufs = typeof data === "string" ? [encoder.encode(data)] : data instanceof Uint8Array ? undefined : bytesOf(data)
    if (conn.layer !== undefined) return conn.layer.write(bufs ?? [data as Uint8Array])
    if (this.#failed !== undefined) {
      // Reported once, and only on the connection it happened on.
      const e = this.#failed
      this.#failed = undefined
      if (this.#stageConn === conn) return Effect.fail(e)
    }
    if (this.#queued > 0) {
      this.#queued++
      return this.#permit.withPermit(this.#writeRest(conn, bufs ?? [data as Uint8Array], 0))
    }
    if (this.#window) return this.#gather(conn, bufs ?? [data as Uint8Array], conn.reads !== this.#readsAtSend)
    // The turn's first write: straight to the socket, without the lock.
    const r = bufs === undefined ? conn.stream.write(data as Uint8Array) : writeSome(conn, bufs)
    if (r !== (bufs === undefined ? (data as Uint8Array).length : total(bufs))) return this.#settle(conn, bufs ?? [data as Uint8Array], r)
    // Writes through a driver we know are coalesced for the rest of the turn.
    if (conn.io !== undefined) {
      this.#window = true
      this.#readsAtSend = conn.reads
      atTurnEnd(this)
    }
    return Effect.void
  }

  /** What a write that sent `bufs` now and got `r` returns: done, its error, or the rest under the lock. */
  #settle(conn: Connection, bufs: ReadonlyArray<Uint8Array>, r: number | WouldBlock | IoError): Effect.Effect<void, Socket.SocketError> {
    if (r instanceof IoError) return Effect.fail(errors.writeError(conn.at(r)))
    const written = r === WouldBlock ? 0 : r
    if (written === total(bufs)) return Effect.void
    this.#queued++
    return this.#permit.withPermit(this.#writeRest(conn, bufs, written))
  }

  /**
   * A later write of the turn: staged (copied, complete at once), or sent now
   * after what is staged — when it is big, or when it follows a read of the
   * connection (`answer`: a request/response exchange running within one turn
   * keeps its latency; the writes that follow it in the turn are staged).
   */
  #gather(conn: Connection, bufs: ReadonlyArray<Uint8Array>, answer: boolean): Effect.Effect<void, Socket.SocketError> {
    this.#stageFor(conn)
    const n = total(bufs)
    const staged = this.#staged
    if (answer) this.#readsAtSend = conn.reads
    else if (n <= COPY_MAX && staged + n <= STAGE_SIZE) {
      const stage = this.#takeStage()
      let at = staged
      for (let i = 0; i < bufs.length; i++) {
        stage.set(bufs[i]!, at)
        at += bufs[i]!.length
      }
      this.#setStaged(conn, at)
      return Effect.void
    }
    if (staged === 0) return this.#settle(conn, bufs, writeSome(conn, bufs))
    // Sent now: the staged bytes and this write leave together, in order.
    const all = [this.#stage!.subarray(0, staged), ...bufs]
    this.#staged = 0
    const r = conn.stream.writev(all)
    // Not taken whole: the lock's writer holds the stage's bytes now.
    if (r === WouldBlock || (typeof r === "number" && r < staged + n)) this.#stage = undefined
    return this.#settle(conn, all, r)
  }

  /** The stage now collects writes to `conn`: what was staged for another connection is sent first. */
  #stageFor(conn: Connection): void {
    if (this.#stageConn === conn) return
    this.flushStage()
    this.#stageConn = conn
  }

  /** The stage's buffer (from the pool on first use). */
  #takeStage(): Uint8Array {
    return this.#stage ??= stagePool.pop() ?? new Uint8Array(STAGE_SIZE)
  }

  /** The stage holds `at` bytes for `conn`; the first staged bytes make this writer `conn`'s stager. */
  #setStaged(conn: Connection, at: number): void {
    if (this.#staged === 0) conn.stager = this
    this.#staged = at
  }

  /** The turn ended: send what is staged, close the window, give the stage back. */
  endTurn(): void {
    this.#window = false
    this.flushStage()
    const stage = this.#stage
    if (stage !== undefined) {
      this.#stage = undefined
      if (stagePool.length < STAGE_POOL_MAX) stagePool.push(stage)
    }
  }

  /**
   * Sends what is staged. A failure is kept for the next write; a rest the
   * socket did not take is written by a fiber of its own under the lock, which
   * later writes queue behind.
   */
  flushStage(): void {
    const n = this.#staged
    if (n === 0) return
    const conn = this.#stageConn!
    const stage = this.#stage!
    this.#staged = 0
    if (conn.stager === this) conn.stager = undefined
    // A closed connection: the staged bytes go with it (later writes fail on it).
    if (!conn.isOpen) return
    const r = conn.stream.write(stage.subarray(0, n))
    if (r instanceof IoError) {
      this.#failed = errors.writeError(conn.at(r))
      return
    }
    const written = r === WouldBlock ? 0 : r
    if (written === n) return
    this.#stage = undefined
    this.#queued++
    this.#rest = true
    Effect.runFork(
      Effect.ensuring(
        Effect.catch(this.#permit.withPermit(this.#writeRest(conn, [stage.subarray(written, n)], 0)), (e) =>
          Effect.sync(() => {
            this.#failed = e
          })),
        Effect.sync(() => {
          this.#rest = false
        })
      )
    )
  }

  /** Done once the rest of a stage written by a fiber of its own (if any) is written. */
  get settled(): Effect.Effect<void> {
    return this.#rest ? this.#permit.withPermit(Effect.void) : Effect.void
  }

  /** The writer's Scope was released: sends what is staged (waiting for a rest being written), then `then`. */
  release(then: Effect.Effect<void>): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.flushStage()
      return this.#rest ? this.#permit.withPermit(then) : then
    })
  }

  /** Writes `bufs` from `offset` bytes in, waiting for writability as needed. */
  #writeRest(conn: Connection, bufs: ReadonlyArray<Uint8Array>, offset: number): Effect.Effect<void, Socket.SocketError> {
    let rest = skip(bufs, offset)
    const step: Effect.Effect<void, Socket.SocketError> = Effect.suspend(() => {
      if (rest.length === 0) return Effect.void
      return Effect.flatMap(
        Effect.mapError(conn.registration.writeIo(() => writeSome(conn, rest)), (e) => errors.writeError(conn.at(e))),
        (n) => {
          rest = skip(rest, n)
          return step
        }
      )
    })
    return Effect.ensuring(step, Effect.sync(() => this.#queued--))
  }

  #close(event: Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> {
    return Effect.suspend(() => {
      const conn = this.#connection()
      if (conn === undefined) return Effect.flatMap(this.#socket.connected.await, () => this.#close(event))
      if (!(conn instanceof Connection)) return conn
      this.flushStage()
      return this.#permit.withPermit(
        Effect.sync(() => {
          conn.closeCode = event.code
          conn.closeReason = event.reason
          if (conn.layer !== undefined) conn.layer.close(event.code, event.reason)
          else conn.stream.shutdown("both")
        })
      )
    })
  }
}

/** The chunks as bytes (strings encoded as UTF-8); the same array when there is no string. */
const bytesOf = (chunks: ReadonlyArray<Uint8Array | string>): ReadonlyArray<Uint8Array> => {
  for (let i = 0; i < chunks.length; i++) {
    if (typeof chunks[i] === "string") return chunks.map((c) => (typeof c === "string" ? encoder.encode(c) : c))
  }
  return chunks as ReadonlyArray<Uint8Array>
}

const closedSocket = new IoError({ kind: "Closed", errno: 0, syscall: "send", detail: "the connection was closed" })
const notConnected = new IoError({
  kind: "NotConnected",
  errno: 0,
  syscall: "send",
  detail: "no reader holds a connection (disconnectedWrites: \"fail\")"
})

/** Writes what the socket takes of `bufs` (one `send`, or `writev` for several). @internal */
export const writeSome = (conn: Connection, bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError =>
  bufs.length === 1 ? conn.stream.write(bufs[0]!) : conn.stream.writev(bufs)

const total = (bufs: ReadonlyArray<Uint8Array>): number => {
  let n = 0
  for (const b of bufs) n += b.length
  return n
}

/** The buffers after the first `n` bytes. @internal */
export const skip = (bufs: ReadonlyArray<Uint8Array>, n: number): ReadonlyArray<Uint8Array> => {
  if (n === 0) return bufs
  let i = 0
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length
  if (i === bufs.length) return []
  const out = bufs.slice(i)
  if (n > 0) out[0] = out[0]!.subarray(n)
  return out
}
