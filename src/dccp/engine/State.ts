/**
 * The DCCP state machine as tables (RFC 4340 §8.4, §8.5), in the style of
 * h11: every state × packet type, for each role, names what the receive
 * pipeline does and which state follows; every local event (API call or
 * timer) likewise. `Connection.ts` and `Listener.ts` implement the actions;
 * no state change happens anywhere else.
 *
 * The receive pipeline of §8.5 decides a packet's fate at different steps.
 * Each cell says which:
 * - `no-connection` — step 2: CLOSED and TIMEWAIT answer everything but a
 *   Reset with Reset(No Connection); LISTEN does the same for packets that are
 *   not Requests (step 3).
 * - `ignore` — a Reset where there is no connection: never answer a Reset.
 * - `accept` — step 3: LISTEN creates a connection in RESPOND.
 * - `accept-if-cookie` — step 3 with Init Cookies (§8.1.4): an Ack or DataAck
 *   carrying a valid cookie creates the connection, anything else is answered
 *   with Reset(No Connection).
 * - `packet-error` — step 4: in REQUEST only Response and Reset are valid;
 *   anything else gets Reset(Packet Error).
 * - `unexpected` / `unexpected-if-after-osr` — step 7: answered with a Sync
 *   (the second only when P.seqno ≥ S.OSR, for Requests and Responses that
 *   arrive once the connection is OPEN).
 * - `unreachable` — the role never is in this state.
 * - `process` — steps 8–16 run: the listed actions, in order, then `next`.
 *
 * @since 0.1.0
 */
import type { PacketType } from "./Packet.ts"

/**
 * The nine states of RFC 4340 §8.4.
 *
 * @since 0.1.0
 * @category models
 */
export type State =
  | "CLOSED"
  | "LISTEN"
  | "REQUEST"
  | "RESPOND"
  | "PARTOPEN"
  | "OPEN"
  | "CLOSEREQ"
  | "CLOSING"
  | "TIMEWAIT"

/**
 * States in the order RFC 4340 §8.5 compares them ("S.state >= OPEN",
 * "S.state < CLOSEREQ").
 *
 * @since 0.1.0
 * @category constants
 */
export const STATES: ReadonlyArray<State> = [
  "CLOSED",
  "LISTEN",
  "REQUEST",
  "RESPOND",
  "PARTOPEN",
  "OPEN",
  "CLOSEREQ",
  "CLOSING",
  "TIMEWAIT"
]

/**
 * The position of a state in the §8.5 order.
 *
 * @since 0.1.0
 * @category utils
 */
export const stateRank = (state: State): number => STATES.indexOf(state)

/**
 * Which end of the connection this is (S.is_client / S.is_server).
 *
 * @since 0.1.0
 * @category models
 */
export type Role = "client" | "server"

/**
 * What steps 9–16 of §8.5 do for a packet that got that far.
 *
 * @since 0.1.0
 * @category models
 */
export type Action =
  /** Step 9: tear down, S.state := TIMEWAIT, set the TIMEWAIT timer. */
  | "enter-timewait"
  /** Step 10: S.state := PARTOPEN, set the PARTOPEN timer. */
  | "enter-partopen"
  /** Step 11: (re)send a Response, possibly with an Init Cookie. */
  | "send-response"
  /** Steps 11/12: S.OSR := P.seqno, S.state := OPEN. */
  | "enter-open"
  /** Step 12: answer a (duplicate) Response in PARTOPEN with an Ack. */
  | "send-ack"
  /** Step 13: generate Close, S.state := CLOSING, set the CLOSING timer. */
  | "send-close"
  /** Step 14: generate Reset(Closed), tear down. */
  | "send-reset-closed"
  /** Step 15: generate SyncAck. */
  | "send-syncack"
  /** Step 16: pass application data to the application. */
  | "deliver"

/**
 * A cell of the receive table.
 *
 * @since 0.1.0
 * @category models
 */
export type Reaction =
  | { readonly kind: "no-connection" }
  | { readonly kind: "ignore" }
  | { readonly kind: "accept"; readonly next: "RESPOND" }
  | { readonly kind: "accept-if-cookie"; readonly next: "RESPOND" }
  | { readonly kind: "packet-error" }
  | { readonly kind: "unexpected" }
  | { readonly kind: "unexpected-if-after-osr" }
  | { readonly kind: "unreachable" }
  | { readonly kind: "process"; readonly actions: ReadonlyArray<Action>; readonly next: State }

type Row = Readonly<Record<PacketType, Reaction>>

const noConnection: Reaction = { kind: "no-connection" }
const ignore: Reaction = { kind: "ignore" }
const packetError: Reaction = { kind: "packet-error" }
const unexpected: Reaction = { kind: "unexpected" }
const afterOsr: Reaction = { kind: "unexpected-if-after-osr" }
const unreachable: Reaction = { kind: "unreachable" }
const process = (next: State, ...actions: ReadonlyArray<Action>): Reaction => ({ kind: "process", actions, next })

/** CLOSED and TIMEWAIT (step 2). */
const deadRow: Row = {
  Request: noConnection,
  Response: noConnection,
  Data: noConnection,
  Ack: noConnection,
  DataAck: noConnection,
  CloseReq: noConnection,
  Close: noConnection,
  Reset: ignore,
  Sync: noConnection,
  SyncAck: noConnection
}

const unreachableRow: Row = {
  Request: unreachable,
  Response: unreachable,
  Data: unreachable,
  Ack: unreachable,
  DataAck: unreachable,
  CloseReq: unreachable,
  Close: unreachable,
  Reset: unreachable,
  Sync: unreachable,
  SyncAck: unreachable
}

const CLIENT: Readonly<Record<State, Row>> = {
  CLOSED: deadRow,
  LISTEN: unreachableRow,
  REQUEST: {
    Request: packetError,
    Response: process("PARTOPEN", "enter-partopen", "send-ack"),
    Data: packetError,
    Ack: packetError,
    DataAck: packetError,
    CloseReq: packetError,
    Close: packetError,
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: packetError,
    SyncAck: packetError
  },
  RESPOND: unreachableRow,
  PARTOPEN: {
    Request: unexpected,
    Response: process("PARTOPEN", "send-ack"),
    Data: process("OPEN", "enter-open", "deliver"),
    Ack: process("OPEN", "enter-open"),
    DataAck: process("OPEN", "enter-open", "deliver"),
    CloseReq: process("CLOSING", "enter-open", "send-close"),
    Close: process("CLOSED", "enter-open", "send-reset-closed"),
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: process("PARTOPEN", "send-syncack"),
    SyncAck: process("OPEN", "enter-open")
  },
  OPEN: {
    Request: unexpected,
    Response: afterOsr,
    Data: process("OPEN", "deliver"),
    Ack: process("OPEN"),
    DataAck: process("OPEN", "deliver"),
    CloseReq: process("CLOSING", "send-close"),
    Close: process("CLOSED", "send-reset-closed"),
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: process("OPEN", "send-syncack"),
    SyncAck: process("OPEN")
  },
  CLOSEREQ: unreachableRow,
  CLOSING: {
    Request: unexpected,
    Response: afterOsr,
    Data: process("CLOSING", "deliver"),
    Ack: process("CLOSING"),
    DataAck: process("CLOSING", "deliver"),
    // Step 13 applies only below CLOSEREQ: our Close is already under way.
    CloseReq: process("CLOSING"),
    Close: process("CLOSED", "send-reset-closed"),
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: process("CLOSING", "send-syncack"),
    SyncAck: process("CLOSING")
  },
  TIMEWAIT: deadRow
}

const SERVER: Readonly<Record<State, Row>> = {
  CLOSED: deadRow,
  LISTEN: {
    Request: { kind: "accept", next: "RESPOND" },
    Response: noConnection,
    Data: noConnection,
    Ack: { kind: "accept-if-cookie", next: "RESPOND" },
    DataAck: { kind: "accept-if-cookie", next: "RESPOND" },
    CloseReq: noConnection,
    Close: noConnection,
    Reset: ignore,
    Sync: noConnection,
    SyncAck: noConnection
  },
  REQUEST: unreachableRow,
  RESPOND: {
    Request: process("RESPOND", "send-response"),
    Response: unexpected,
    Data: unexpected,
    Ack: process("OPEN", "enter-open"),
    DataAck: process("OPEN", "enter-open", "deliver"),
    CloseReq: unexpected,
    Close: process("CLOSED", "enter-open", "send-reset-closed"),
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: process("OPEN", "enter-open", "send-syncack"),
    SyncAck: process("OPEN", "enter-open")
  },
  PARTOPEN: unreachableRow,
  OPEN: {
    Request: afterOsr,
    Response: unexpected,
    Data: process("OPEN", "deliver"),
    Ack: process("OPEN"),
    DataAck: process("OPEN", "deliver"),
    CloseReq: unexpected,
    Close: process("CLOSED", "send-reset-closed"),
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: process("OPEN", "send-syncack"),
    SyncAck: process("OPEN")
  },
  CLOSEREQ: {
    Request: afterOsr,
    Response: unexpected,
    Data: process("CLOSEREQ", "deliver"),
    Ack: process("CLOSEREQ"),
    DataAck: process("CLOSEREQ", "deliver"),
    CloseReq: unexpected,
    Close: process("CLOSED", "send-reset-closed"),
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: process("CLOSEREQ", "send-syncack"),
    SyncAck: process("CLOSEREQ")
  },
  CLOSING: {
    Request: afterOsr,
    Response: unexpected,
    Data: process("CLOSING", "deliver"),
    Ack: process("CLOSING"),
    DataAck: process("CLOSING", "deliver"),
    CloseReq: unexpected,
    Close: process("CLOSED", "send-reset-closed"),
    Reset: process("TIMEWAIT", "enter-timewait"),
    Sync: process("CLOSING", "send-syncack"),
    SyncAck: process("CLOSING")
  },
  TIMEWAIT: deadRow
}

/**
 * The receive table: `RECEIVE[role][state][packetType]`.
 *
 * @since 0.1.0
 * @category state machine
 */
export const RECEIVE: Readonly<Record<Role, Readonly<Record<State, Row>>>> = { client: CLIENT, server: SERVER }

/**
 * Local events: API calls and timers.
 *
 * @since 0.1.0
 * @category models
 */
export type LocalEvent =
  /** `connect()`: active open. */
  | "connect"
  /** `close()`: graceful close (a server sends CloseReq). */
  | "close"
  /** `close()` on a server that holds TIMEWAIT itself (Linux DCCP_SOCKOPT_SERVER_TIMEWAIT). */
  | "close-server-timewait"
  /** `abort()`: Reset(Aborted). */
  | "abort"
  /** The retransmission timer of REQUEST, PARTOPEN, CLOSEREQ or CLOSING fired. */
  | "retransmit"
  /** Retransmissions were given up. */
  | "give-up"
  /** The TIMEWAIT timer fired. */
  | "timewait-expired"

/**
 * What a local event sends.
 *
 * @since 0.1.0
 * @category models
 */
export type LocalAction =
  | "none"
  | "send-request"
  | "send-ack"
  | "send-close"
  | "send-closereq"
  | "send-reset-aborted"

/**
 * A cell of the local-event table: `undefined` when the event does nothing in
 * that state.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalReaction {
  readonly action: LocalAction
  readonly next: State
}

type LocalRow = Readonly<Partial<Record<LocalEvent, LocalReaction>>>

const local = (next: State, action: LocalAction = "none"): LocalReaction => ({ action, next })

const CLIENT_LOCAL: Readonly<Record<State, LocalRow>> = {
  CLOSED: { connect: local("REQUEST", "send-request") },
  LISTEN: {},
  REQUEST: {
    // A Reset could not carry an acceptable Acknowledgement Number yet.
    close: local("CLOSED"),
    abort: local("CLOSED"),
    retransmit: local("REQUEST", "send-request"),
    "give-up": local("CLOSED")
  },
  RESPOND: {},
  PARTOPEN: {
    close: local("CLOSING", "send-close"),
    abort: local("CLOSED", "send-reset-aborted"),
    retransmit: local("PARTOPEN", "send-ack"),
    // The client stops repeating its Ack but stays in PARTOPEN: a Linux server
    // never answers a bare Ack, and the first packet from the server opens the
    // connection anyway (§8.1.5).
    "give-up": local("PARTOPEN")
  },
  OPEN: {
    close: local("CLOSING", "send-close"),
    abort: local("CLOSED", "send-reset-aborted")
  },
  CLOSEREQ: {},
  CLOSING: {
    abort: local("CLOSED", "send-reset-aborted"),
    retransmit: local("CLOSING", "send-close"),
    "give-up": local("CLOSED")
  },
  TIMEWAIT: {
    abort: local("CLOSED"),
    "timewait-expired": local("CLOSED")
  }
}

const SERVER_LOCAL: Readonly<Record<State, LocalRow>> = {
  CLOSED: {},
  LISTEN: {},
  REQUEST: {},
  RESPOND: {
    close: local("CLOSED", "send-reset-aborted"),
    "close-server-timewait": local("CLOSED", "send-reset-aborted"),
    abort: local("CLOSED", "send-reset-aborted"),
    "give-up": local("CLOSED")
  },
  PARTOPEN: {},
  OPEN: {
    close: local("CLOSEREQ", "send-closereq"),
    "close-server-timewait": local("CLOSING", "send-close"),
    abort: local("CLOSED", "send-reset-aborted")
  },
  CLOSEREQ: {
    abort: local("CLOSED", "send-reset-aborted"),
    retransmit: local("CLOSEREQ", "send-closereq"),
    "give-up": local("CLOSED")
  },
  CLOSING: {
    abort: local("CLOSED", "send-reset-aborted"),
    retransmit: local("CLOSING", "send-close"),
    "give-up": local("CLOSED")
  },
  TIMEWAIT: {
    abort: local("CLOSED"),
    "timewait-expired": local("CLOSED")
  }
}

/**
 * The local-event table: `LOCAL[role][state][event]`.
 *
 * @since 0.1.0
 * @category state machine
 */
export const LOCAL: Readonly<Record<Role, Readonly<Record<State, LocalRow>>>> = { client: CLIENT_LOCAL, server: SERVER_LOCAL }
