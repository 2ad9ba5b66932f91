/**
 * The connection's state machine as one table, in the style of h11: every
 * state × event names the next state and what the engine does. `Connection.ts`
 * implements the actions; no state changes anywhere else.
 *
 * ```
 *            start (client)            HELLO both ways
 *  idle ───────────────────▶ handshake ─────────────────▶ established
 *    │ Initial received (server) ▲  close(): deferred        │ close()
 *    └───────────────────────────┘  until connected          ▼
 *                                                        flushing ── outstanding data acknowledged
 *                                                            │        (or linger timeout) ──▶ closing
 *      any state ── CLOSE received ──▶ draining (answers with one CLOSE)                         │
 *      closing ── the peer's CLOSE, or the closing period ──▶ closed ◀── draining, 3 × PTO ──┘
 *      any state ── idle timeout, abort, version mismatch ──▶ closed
 * ```
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category models
 */
export type State = "idle" | "handshake" | "established" | "flushing" | "closing" | "draining" | "closed"

/**
 * What happens to a connection: API calls, packets, timers.
 *
 * @since 0.2.0
 * @category models
 */
export type Event =
  /** A client starts: it sends its Initial. */
  | "start"
  /** An Initial (the peer's HELLO, as initiator) arrived. */
  | "initial"
  /** A Handshake (the peer's HELLO, as responder) arrived. */
  | "handshake"
  /** Proof that the peer has our HELLO (it acknowledged it, or addressed a short packet to our id). */
  | "confirmed"
  /** Both HELLOs are through: each end has the other's. */
  | "ready"
  /** `close()` was called. */
  | "close"
  /** Everything outstanding was acknowledged during a graceful close. */
  | "flushed"
  /** The graceful close ran out of time with data outstanding. */
  | "linger-timeout"
  /** A CLOSE frame arrived. */
  | "peer-close"
  /** The closing or draining period ended. */
  | "close-timer"
  /** The peer was silent for the idle timeout. */
  | "idle-timeout"
  /** `abort()` was called. */
  | "abort"
  /** The peer speaks no version we do, or its parameters are unacceptable. */
  | "incompatible"
  /** The peer's HELLO failed authentication: end, telling the peer. */
  | "reject"

/**
 * What the engine does on a transition.
 *
 * @since 0.2.0
 * @category models
 */
export type Action =
  /** Queue our HELLO (Initial for a client, Handshake in answer to an Initial). */
  | "send-hello"
  /** Learn the peer's connection id and parameters from its HELLO. */
  | "accept-hello"
  /** Mark the peer as having our HELLO. */
  | "confirm"
  /** Emit `connected`; arm the heartbeat. */
  | "connected"
  /** Refuse new messages; start the linger timer. */
  | "start-flush"
  /** `close()` during the handshake: refuse new messages, start the linger timer, close once connected. */
  | "defer-close"
  /**
   * Queue a CLOSE frame (graceful or with an error code), arm its
   * retransmission (PTO, doubling, 5 times) and the closing period.
   */
  | "send-close"
  /** Arm the draining period; answer with one CLOSE. */
  | "drain"
  /** Stop all timers but `close`; drop queued output. */
  | "quiesce"
  /** Emit `closed`; clear every timer. */
  | "finish"

/**
 * A cell: the next state and the actions, in order. A missing cell means the
 * event does not apply in that state and is ignored.
 *
 * @since 0.2.0
 * @category models
 */
export interface Transition {
  readonly next: State
  readonly actions: ReadonlyArray<Action>
}

const t = (next: State, ...actions: ReadonlyArray<Action>): Transition => ({ next, actions })

/**
 * The table.
 *
 * @since 0.2.0
 * @category constants
 */
export const TRANSITIONS: Readonly<Record<State, Partial<Record<Event, Transition>>>> = {
  idle: {
    start: t("handshake", "send-hello"),
    initial: t("handshake", "accept-hello", "send-hello"),
    close: t("closed", "finish"),
    abort: t("closed", "finish"),
    "idle-timeout": t("closed", "finish"),
    incompatible: t("closed", "send-close", "finish"),
    reject: t("closed", "send-close", "finish")
  },
  handshake: {
    initial: t("handshake", "accept-hello", "send-hello"),
    handshake: t("handshake", "accept-hello", "confirm"),
    confirmed: t("handshake", "confirm"),
    ready: t("established", "connected"),
    close: t("handshake", "defer-close"),
    flushed: t("closing", "quiesce", "send-close"),
    "linger-timeout": t("closing", "quiesce", "send-close"),
    "peer-close": t("draining", "quiesce", "drain"),
    "idle-timeout": t("closed", "finish"),
    abort: t("closed", "send-close", "finish"),
    incompatible: t("closed", "finish"),
    reject: t("closed", "send-close", "finish")
  },
  established: {
    initial: t("established", "send-hello"),
    handshake: t("established"),
    confirmed: t("established"),
    close: t("flushing", "start-flush"),
    "peer-close": t("draining", "quiesce", "drain"),
    "idle-timeout": t("closed", "finish"),
    abort: t("closed", "send-close", "finish")
  },
  flushing: {
    initial: t("flushing", "send-hello"),
    flushed: t("closing", "quiesce", "send-close"),
    "linger-timeout": t("closing", "quiesce", "send-close"),
    "peer-close": t("draining", "quiesce", "drain"),
    "idle-timeout": t("closed", "finish"),
    abort: t("closed", "send-close", "finish")
  },
  closing: {
    "peer-close": t("closed", "finish"),
    "close-timer": t("closed", "finish"),
    "idle-timeout": t("closed", "finish"),
    abort: t("closed", "finish")
  },
  draining: {
    "close-timer": t("closed", "finish"),
    "idle-timeout": t("closed", "finish"),
    abort: t("closed", "finish")
  },
  closed: {}
}

/**
 * The cell for `state` × `event`, or `undefined` when the event is ignored there.
 *
 * @since 0.2.0
 * @category utils
 */
export const transition = (state: State, event: Event): Transition | undefined => TRANSITIONS[state][event]

/**
 * States in which messages may be queued by `send`.
 *
 * @since 0.2.0
 * @category predicates
 */
export const acceptsMessages = (state: State): boolean => state === "idle" || state === "handshake" || state === "established"

/**
 * States in which data packets (short headers) may be sent.
 *
 * @since 0.2.0
 * @category predicates
 */
export const sendsData = (state: State): boolean => state === "established" || state === "flushing"
