/**
 * Fiber-less connection handlers: the models of `Tcp.serve` and `Unix.serve`.
 *
 * A `Handler` is three plain callbacks that the reactor's driver calls from its
 * own turn, on readiness — `open` when a connection is accepted, `data` with
 * each read, `close` once when it ends. An idle connection costs its socket,
 * the driver's slot and one small object: no fiber, no `Queue`, no read buffer
 * of its own (every read lands in one buffer the server shares, and `data` sees
 * a view of it). This is the shape a Node `net`, mio or ENet user picks for
 * tens of thousands of connections; `SocketServer.run` (Effect's interface,
 * a fiber per connection) stays the default for everything else.
 *
 * Effect stays one step away: `data` may return an Effect, which runs as a
 * fiber in the server's context; that connection's reads pause until it
 * completes (so its bytes are handled in order), and a failure closes the
 * connection with a logged `HandlerFailed` reason. A fiber exists only while
 * such an Effect runs.
 *
 * Lifetime of `bytes`: the view given to `data` is valid only during that call
 * — the next read, of any connection, overwrites it. Keep what you need with
 * `bytes.slice()` (or copy it into your state), including for an Effect that
 * `data` returns: it may run after `data` has returned.
 *
 * Ordering: for one connection `open` comes first, then `data` in stream order
 * (never two at once, never while an Effect it returned runs), then `close`
 * exactly once. Bytes written leave in the order of the `write` calls.
 *
 * @since 0.2.0
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type { IoError } from "../IoError.ts"
import type * as SocketAddress from "../net/SocketAddress.ts"

/**
 * Why a connection closed, given to `Handler.close`:
 *
 * - `End`: the peer ended the stream and what was written went out (or it
 *   ended after the handler's `end()`); an orderly close.
 * - `Closed`: the handler called `conn.close()`.
 * - `ServerClosed`: the server's Scope closed.
 * - `Error`: a read or write failed (a reset, for one), or the reactor shut down.
 * - `HandlerFailed`: `open`/`data` threw, or an Effect that `data` returned
 *   failed or died; the cause is also logged at the error level.
 * - `SendBufferOverflow`: writes not yet taken by the kernel would pass
 *   `maxSendBuffer`; the connection is closed rather than grow without bound.
 *
 * @since 0.2.0
 * @category models
 */
export type CloseReason =
  | { readonly _tag: "End" }
  | { readonly _tag: "Closed" }
  | { readonly _tag: "ServerClosed" }
  | { readonly _tag: "Error"; readonly error: IoError }
  | { readonly _tag: "HandlerFailed"; readonly cause: Cause.Cause<unknown> }
  | { readonly _tag: "SendBufferOverflow"; readonly limit: number }

/**
 * One accepted connection, as its handler sees it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Connection<Stream> {
  /** The raw stream, for socket options and addresses. Close it only with `close()`. */
  readonly stream: Stream
  /**
   * The peer's address, asked of the kernel (`getpeername`) at each use — a
   * connection keeps no copy; keep it in your state if you use it often.
   * `undefined` once the connection is closed.
   */
  readonly remoteAddress: SocketAddress.SocketAddress | undefined
  /** `false` once the connection closed (`close` was called or is being called). */
  readonly isOpen: boolean
  /** Bytes written and not yet taken by the kernel (0 for a connection keeping up). */
  readonly pendingBytes: number
  /**
   * Writes `data` (a string as UTF-8): what the kernel takes now is sent at
   * once; the rest is copied into the connection's send buffer, made only when
   * the kernel refuses, and sent as the socket drains. Returns `false` once the
   * buffered bytes reach `highWaterMark` — the connection's reads pause until
   * the buffer is empty — and when the connection is closed (nothing is
   * written). Past `maxSendBuffer` the connection closes with
   * `SendBufferOverflow`. `data` may be reused as soon as `write` returns.
   */
  write(data: Uint8Array | string): boolean
  /**
   * Completes once nothing is buffered (at once when nothing is), or once the
   * connection closed — check `isOpen` after. For an Effect that `data`
   * returned and that writes more than `maxSendBuffer` in all: write, wait
   * here, write on.
   */
  readonly drained: Effect.Effect<void>
  /** Sends what is buffered, then ends the write side (FIN); the connection closes when the peer ends too. */
  end(): void
  /** Closes now: buffered bytes are dropped, `close` is called with `Closed`. Idempotent. */
  close(): void
}

/**
 * The callbacks of a connection handler. `State` is what `open` returns for a
 * connection (`undefined` without `open`). A callback that throws closes its
 * connection with `HandlerFailed` (logged), never the server.
 *
 * @since 0.2.0
 * @category models
 */
export interface Handler<State, E = never, R = never, Stream = unknown> {
  /** A connection was accepted; returns its state. */
  readonly open?: ((conn: Connection<Stream>) => State) | undefined
  /**
   * Bytes arrived: `bytes` is a view valid only during this call (see the
   * module's comment). Return nothing to go on reading, or an Effect: the
   * connection's reads pause until it completes.
   */
  readonly data: (conn: Connection<Stream>, state: State, bytes: Uint8Array) => void | Effect.Effect<void, E, R>
  /** The connection closed (its fd is closed already); called once per connection whose `open` returned. */
  readonly close?: ((conn: Connection<Stream>, state: State, reason: CloseReason) => void) | undefined
}

/**
 * Options of a handler server, beyond its listener's.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServeOptions {
  /** Bytes per `recv` into the server's shared read buffer (default 64 KiB). */
  readonly readSize?: number | undefined
  /** Reads one connection makes per readiness event before others get a turn (default 16). */
  readonly maxReadsPerEvent?: number | undefined
  /** Buffered send bytes at which `write` returns `false` and reads pause (default 64 KiB). */
  readonly highWaterMark?: number | undefined
  /** Most buffered send bytes per connection; past them it closes with `SendBufferOverflow` (default 1 MiB). */
  readonly maxSendBuffer?: number | undefined
}

/**
 * A running handler server; it serves until the Scope it was made in closes,
 * which closes every connection (`ServerClosed`) and interrupts the Effects
 * still running.
 *
 * @since 0.2.0
 * @category models
 */
export interface Server {
  /** The address the listener is bound to (the real port when bound to port 0). */
  readonly address: SocketAddress.SocketAddress
  /** Connections open now. */
  readonly connections: () => number
}
