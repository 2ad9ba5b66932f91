/**
 * Protocol hooks, with the meaning and order of links' `ProtocolCore` and
 * `Protocol`. Every hook gets the connection's `Link`: its id, its state, the
 * shared session state, and the ways to talk on it.
 *
 * Order on one connection:
 *
 * 1. `onConnect(link)` — right after the transport connects or is accepted,
 *    before anything else: a handshake (a login). It may `link.send`,
 *    `link.recv` (the only time a hook may receive) and `link.resend`. If it
 *    fails, a `Svc` refuses the connection and `Clt.connect` fails with a
 *    `HandshakeFailed` error.
 * 2. For each message sent with `send`: `onSend(message, link)` (may return a
 *    stamped copy: a sequence number, a time) → encode → write →
 *    `onSent(stamped, link)` → the callback's `onSent`. `link.resend` writes
 *    without any of these (links' `re_send`, for replays).
 * 3. For each message received: decode → `onRecv(message, link)` → the
 *    callback's `onRecv` → `sendReply(message, link)` (scripted replies, for
 *    simulators) → the application gets it, unless `deliver(message, link)`
 *    says no (session traffic such as heartbeats).
 * 4. `heartbeat`: once `onConnect` succeeded, `make(link)` is sent whenever
 *    nothing was sent for `interval`; with `timeout`, a peer silent for that
 *    long is dead: the connection ends with a `TimedOut` error.
 * 5. `onDisconnect(link)` — once, when this side closes a healthy connection
 *    (its Scope closes, `close` is called, the `Svc` shuts down), before the
 *    writer is released: a Logout, an End of Session. It does not run when the
 *    peer ended the connection or the connection failed. It is bounded by
 *    `disconnectTimeout` (default 1 second).
 *
 * `isConnected(link)` is the logical status (logged in, heard from recently);
 * `Clt.isConnected` and `Svc.isConnected` are `false` whenever the transport is
 * closed, and otherwise this (default `true`).
 *
 * State: `connectionState()` makes a clean state for every connection (links'
 * `ProtocolConnectionState`); `session` is one value shared by every connection
 * that uses this protocol value — all connections of a `Svc`, and successive
 * `Clt` connections made with it (links' `ProtocolSessionState`). Both are
 * plain values: hooks run one at a time per connection, on one JavaScript
 * thread.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { ConId } from "./ConId.ts"
import type { MessagingError } from "./MessagingError.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Protocol"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category guards
 */
export const isProtocol = (u: unknown): u is Protocol<never, never> => typeof u === "object" && u !== null && TypeId in u

/**
 * A connection as the hooks see it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Link<S, R, C = unknown, Sess = unknown> {
  readonly id: ConId
  /** This connection's state, fresh from `connectionState()`. */
  readonly state: C
  /** The protocol's shared session state. */
  readonly session: Sess
  /** Sends through the hooks and callbacks (as the application's `send`). */
  readonly send: (message: S) => Effect.Effect<void, MessagingError>
  /** Sends bypassing `onSend`, `onSent` and callbacks (links' `re_send`). */
  readonly resend: (message: S) => Effect.Effect<void, MessagingError>
  /** The next message (`onConnect` only). */
  readonly recv: Effect.Effect<R, MessagingError>
  /** The next message within `timeout`, or none (`onConnect` only). */
  readonly recvTimeout: (timeout: Duration.Input) => Effect.Effect<Option.Option<R>, MessagingError>
  /** `Clock` milliseconds of the last message received / sent (the connect time before any). */
  readonly lastRecvMillis: () => number
  readonly lastSentMillis: () => number
  /** `Clock` milliseconds now, from the connection's clock. */
  readonly nowMillis: () => number
  /** Whether the transport is still open. */
  readonly isOpen: () => boolean
  /** Closes the connection from this side (running `onDisconnect` if it is healthy). */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Heartbeat<S, R, C, Sess> {
  /** Send a heartbeat when nothing was sent for this long. */
  readonly interval: Duration.Input
  /** The heartbeat message. */
  readonly make: (link: Link<S, R, C, Sess>) => S
  /** A peer silent for this long is dead (a function: per connection, e.g. from the login). */
  readonly timeout?: Duration.Input | ((link: Link<S, R, C, Sess>) => Duration.Input | undefined) | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Hooks<S, R, C, Sess> {
  readonly onConnect?: ((link: Link<S, R, C, Sess>) => Effect.Effect<void, unknown>) | undefined
  readonly onDisconnect?: ((link: Link<S, R, C, Sess>) => Effect.Effect<void, unknown>) | undefined
  readonly onSend?: ((message: S, link: Link<S, R, C, Sess>) => Effect.Effect<S, unknown>) | undefined
  readonly onSent?: ((message: S, link: Link<S, R, C, Sess>) => Effect.Effect<void, unknown>) | undefined
  readonly onRecv?: ((message: R, link: Link<S, R, C, Sess>) => Effect.Effect<void, unknown>) | undefined
  readonly sendReply?: ((message: R, link: Link<S, R, C, Sess>) => Effect.Effect<void, unknown>) | undefined
  /** Whether the application gets `message` (default: every message). */
  readonly deliver?: ((message: R, link: Link<S, R, C, Sess>) => boolean) | undefined
  readonly heartbeat?: Heartbeat<S, R, C, Sess> | undefined
  readonly isConnected?: ((link: Link<S, R, C, Sess>) => boolean) | undefined
  /** The longest `onDisconnect` may take (default 1 second). */
  readonly disconnectTimeout?: Duration.Input | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Protocol<S, R, C = unknown, Sess = unknown> extends Hooks<S, R, C, Sess> {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly session: Sess
  readonly connectionState: () => C
}

/**
 * A protocol from its hooks. `connectionState` defaults to `undefined`,
 * `session` to `undefined`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <S, R, C = undefined, Sess = undefined>(
  options: Hooks<S, R, C, Sess> & {
    readonly name?: string | undefined
    readonly session?: Sess | undefined
    readonly connectionState?: (() => C) | undefined
  }
): Protocol<S, R, C, Sess> => ({
  ...options,
  [TypeId]: TypeId,
  name: options.name ?? "protocol",
  session: options.session as Sess,
  connectionState: options.connectionState ?? (() => undefined as C)
})
