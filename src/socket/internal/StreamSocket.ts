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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Socket from "effect/socket/Socket"
import * as check from "../../internal/check.ts"
import * as IoErrorModule from "../../IoError.ts"
import { IoError } from "../../IoError.ts"
import type { Shutdown } from "../../net/internal/SocketBase.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type { IoSource } from "../../poll/IoSource.ts"
import type { Registration } from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import * as errors from "./errors.ts"
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

/** A live connection: the stream and its reactor registration. @internal */
export class Connection {
  readonly stream: StreamIo
  readonly registration: Registration
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

  /** Tears down a layer, deregisters (failing parked fibers) and closes the fd. Idempotent. */
  close(): void {
    this.tornDown = true
    this.layer?.destroy()
    this.registration.deregister()
    this.stream.close()
  }
}

const encoder = new TextEncoder()

/** @internal */
export interface StreamSocketState {
  current: Connection | undefined
  readonly connected: Latch.Latch
  /** A server-side socket has no next connection: writes fail once it is gone. */
  readonly reconnects: boolean
  /** Writes without a connection fail instead of waiting for one. */
  readonly failDisconnected: boolean
  ended: boolean
}

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

/**
 * Builds the `Socket` from an `open` that yields a registered, connected
 * `Connection` whose resources belong to the Scope it runs in.
 *
 * @internal
 */
export const make = (
  open: Effect.Effect<Connection, Socket.SocketError, Scope.Scope>,
  options: ReaderOptions & {
    readonly reconnects: boolean
    readonly failDisconnected?: boolean | undefined
    /** A connection that exists already (an accepted one): writes need no reader. */
    readonly initial?: Connection | undefined
  }
): Socket.Socket => {
  const state: StreamSocketState = {
    current: options.initial,
    connected: Latch.makeUnsafe(options.initial !== undefined),
    reconnects: options.reconnects,
    failDisconnected: options.failDisconnected === true,
    ended: false
  }
  const chunkSize = options.chunkSize ?? 65536
  const maxChunks = options.maxChunksPerPull ?? 16
  // A socket that is not reopened is the server side of its connection.
  const tlsServer = options.tlsServer ?? !options.reconnects

  const reader: Effect.Effect<Socket.Reader, Socket.SocketError, Scope.Scope> = Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const conn = yield* restore(open)
      state.current = conn
      state.connected.openUnsafe()
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (state.current === conn) {
            state.current = undefined
            state.connected.closeUnsafe()
            if (!state.reconnects) state.ended = true
          }
          conn.close()
        })
      )
      return tls.reader(conn, makePull(conn, chunkSize, maxChunks), { server: tlsServer, scope, chunkSize, maxChunks })
    })
  )

  const writer = Effect.acquireRelease(
    Effect.sync((): Socket.Writer => makeWriter(state)),
    () =>
      Effect.suspend(() => {
        const conn = state.current
        if (conn === undefined || !conn.isOpen) return Effect.void
        if (conn.layer !== undefined) return conn.layer.endWrite
        conn.stream.shutdown("write")
        return Effect.void
      })
  )
  return Socket.make({ reader, writer })
}

/**
 * Read buffers shared by every connection, one per chunk size: a pull copies
 * what it read out (`slice`) before it returns, and JavaScript runs one pull at
 * a time, so a connection holds no buffer of its own while it waits.
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

const makePull = (
  conn: Connection,
  chunkSize: number,
  maxChunks: number
): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> => {
  const buf = readBuffer(chunkSize)
  /**
   * Reads what is there — one recv, then more while the buffer keeps filling —
   * copying each read out of the shared buffer at once, inside the operation:
   * no other fiber runs between a read and its copy. `0` is the end of stream.
   */
  const gather = (): NonEmptyReadonlyArray<Uint8Array> | 0 | typeof LAYERED | WouldBlock | IoError => {
    // Upgraded while this pull waited: the bytes are the layer's (ciphertext) now.
    if (conn.layer !== undefined) return LAYERED
    const first = conn.stream.read(buf)
    if (typeof first !== "number" || first === 0) return first
    const chunks: [Uint8Array, ...Array<Uint8Array>] = [buf.slice(0, first)]
    let n = first
    while (n === chunkSize && chunks.length < maxChunks) {
      const r = conn.stream.read(buf)
      if (r === WouldBlock) {
        n = 0
        break
      }
      if (r === 0) break
      if (r instanceof IoError) {
        conn.pending = r
        break
      }
      n = r
      chunks.push(buf.slice(0, n))
    }
    return chunks
  }
  const readSome = conn.registration.readIo(gather)
  const fail = (e: IoError): Effect.Effect<never, Socket.SocketError> =>
    Effect.fail(e.kind === "Closed" ? errors.closeError(conn.code, conn.closeReason) : errors.readError(conn.at(e)))
  const closed = Effect.suspend(() => {
    conn.ended = true
    return Effect.fail(errors.closeError(conn.code, conn.closeReason))
  })
  return Effect.suspend(() => {
    if (conn.layer !== undefined) return conn.layer.pull
    if (conn.pending !== undefined) {
      const e = conn.pending
      conn.pending = undefined
      return fail(e)
    }
    return Effect.matchEffect(readSome, {
      onFailure: fail,
      onSuccess: (chunks) =>
        chunks === 0 ? closed : chunks === LAYERED ? conn.layer!.pull : Effect.succeed(chunks)
    })
  })
}

const makeWriter = (state: StreamSocketState): Socket.Writer => {
  const lock = Semaphore.makeUnsafe(1)
  // Writers inside or queued on `lock`; while 0, a write may go straight to the socket.
  let queued = 0

  const withConnection = <A>(f: (conn: Connection) => Effect.Effect<A, Socket.SocketError>): Effect.Effect<A, Socket.SocketError> =>
    Effect.suspend(() => {
      const conn = state.current
      if (conn !== undefined && conn.isOpen) return f(conn)
      if (state.ended || (!state.reconnects && conn !== undefined)) return Effect.fail(errors.writeError(closedSocket))
      if (state.failDisconnected) return Effect.fail(errors.writeError(notConnected))
      return Effect.flatMap(state.connected.await, () => withConnection(f))
    })

  /** Writes `bufs` from `offset` bytes in, waiting for writability as needed. */
  const writeRest = (conn: Connection, bufs: ReadonlyArray<Uint8Array>, offset: number): Effect.Effect<void, Socket.SocketError> => {
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
    return Effect.ensuring(step, Effect.sync(() => queued--))
  }

  const send = (bufs: ReadonlyArray<Uint8Array>): Effect.Effect<void, Socket.SocketError> =>
    withConnection((conn) => {
      if (conn.layer !== undefined) return conn.layer.write(bufs)
      if (queued === 0) {
        // Nobody else is writing: try the whole write now, without the lock.
        const r = writeSome(conn, bufs)
        if (r instanceof IoError) return Effect.fail(errors.writeError(conn.at(r)))
        const written = r === WouldBlock ? 0 : r
        if (written === total(bufs)) return Effect.void
        queued++
        return lock.withPermit(writeRest(conn, bufs, written))
      }
      queued++
      return lock.withPermit(writeRest(conn, bufs, 0))
    })

  const close = (event: Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
    withConnection((conn) =>
      lock.withPermit(
        Effect.sync(() => {
          conn.closeCode = event.code
          conn.closeReason = event.reason
          if (conn.layer !== undefined) conn.layer.close(event.code, event.reason)
          else conn.stream.shutdown("both")
        })
      )
    )

  return {
    write: (chunk) =>
      Socket.isCloseEvent(chunk)
        ? close(chunk)
        : send([typeof chunk === "string" ? encoder.encode(chunk) : chunk]),
    writeAll: (chunks) => send(chunks.map((c) => (typeof c === "string" ? encoder.encode(c) : c)))
  }
}

const closedSocket = new IoError({ kind: "Closed", errno: 0, syscall: "send", detail: "the connection was closed" })
const notConnected = new IoError({
  kind: "NotConnected",
  errno: 0,
  syscall: "send",
  detail: "no reader holds a connection (disconnectedWrites: \"fail\")"
})

const writeSome = (conn: Connection, bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError =>
  bufs.length === 1 ? conn.stream.write(bufs[0]!) : conn.stream.writev(bufs)

const total = (bufs: ReadonlyArray<Uint8Array>): number => {
  let n = 0
  for (const b of bufs) n += b.length
  return n
}

/** The buffers after the first `n` bytes. */
const skip = (bufs: ReadonlyArray<Uint8Array>, n: number): ReadonlyArray<Uint8Array> => {
  if (n === 0) return bufs
  let i = 0
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length
  if (i === bufs.length) return []
  const out = bufs.slice(i)
  if (n > 0) out[0] = out[0]!.subarray(n)
  return out
}
