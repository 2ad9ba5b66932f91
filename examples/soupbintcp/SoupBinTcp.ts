/**
 * SoupBinTCP 4.1 on effect-mio's Clt and Svc: the wire (Nasdaq's spec, as links'
 * soupbintcp crate models it), a server protocol with a session log that replays
 * what a client missed when it logs in again with a sequence number, a client
 * protocol that remembers its position across reconnects, heartbeats both ways
 * and dead-peer detection.
 *
 * Wire: a 2-byte big-endian length (not counting itself), a type byte, the
 * payload. Alpha fields are left-justified and space-padded, numeric fields
 * right-justified and space-padded ASCII digits.
 *
 * | from   | packet              | type | fields                                                                 |
 * |--------|---------------------|------|------------------------------------------------------------------------|
 * | both   | Debug               | `+`  | text                                                                   |
 * | server | Login Accepted      | `A`  | session (10 alpha), sequence number (20 numeric): the next one to come |
 * | server | Login Rejected      | `J`  | reason: `A` not authorized, `S` session not available                  |
 * | server | Sequenced Data      | `S`  | a message (its number is implicit: the next in the session)            |
 * | server | Server Heartbeat    | `H`  |                                                                        |
 * | server | End of Session      | `Z`  |                                                                        |
 * | client | Login Request       | `L`  | username (6), password (10), requested session (10, blank = current), requested sequence number (20; 0 = the next one), heartbeat timeout ms (5) |
 * | client | Unsequenced Data    | `U`  | a message                                                              |
 * | client | Client Heartbeat    | `R`  |                                                                        |
 * | client | Logout Request      | `O`  |                                                                        |
 *
 * Session rules: each side sends a heartbeat after `heartbeatInterval` (1 s)
 * without sending anything; a server silent for `serverTimeout` (15 s) is dead
 * to the client, and a client silent for the heartbeat timeout it asked for in
 * its login (or 15 s) is dead to the server. The server numbers Sequenced Data
 * from 1 in its session log; a login with sequence number n gets every message
 * from n on, then the live stream.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as Stream from "effect/Stream"
import { Binary, type Callback, Clt, Codec, Framer, type MessagingError, Protocol, type Reactor, Svc } from "effect-mio"

// --- wire --------------------------------------------------------------------------------------

/** SoupBinTCP framing: `PacketLengthU16Framer<0, true, true>` in links. */
export const framer = Framer.lengthPrefixed({ width: 2 })

/** The packets, with `client` payloads in Unsequenced Data and `server` payloads in Sequenced Data. */
export const wire = <P, Q>(payloads: { readonly client: Binary.Layout<P>; readonly server: Binary.Layout<Q> }) => {
  const Debug = Binary.tagged("Debug", "+", { text: Binary.rest })
  const LoginRequest = Binary.tagged("LoginRequest", "L", {
    username: Binary.ascii(6),
    password: Binary.ascii(10),
    requestedSession: Binary.ascii(10),
    requestedSequenceNumber: Binary.numeric(20),
    heartbeatTimeoutMs: Binary.numeric(5)
  })
  const LogoutRequest = Binary.tagged("LogoutRequest", "O", {})
  const ClientHeartbeat = Binary.tagged("ClientHeartbeat", "R", {})
  const UnsequencedData = Binary.tagged("UnsequencedData", "U", { payload: payloads.client })
  const LoginAccepted = Binary.tagged("LoginAccepted", "A", { session: Binary.ascii(10), sequenceNumber: Binary.numeric(20) })
  const LoginRejected = Binary.tagged("LoginRejected", "J", { reason: Binary.char(["A", "S"]) })
  const SequencedData = Binary.tagged("SequencedData", "S", { payload: payloads.server })
  const ServerHeartbeat = Binary.tagged("ServerHeartbeat", "H", {})
  const EndOfSession = Binary.tagged("EndOfSession", "Z", {})
  const Client = Binary.union([LoginRequest, LogoutRequest, ClientHeartbeat, UnsequencedData, Debug], "SoupBinTCP client")
  const Server = Binary.union([LoginAccepted, LoginRejected, SequencedData, ServerHeartbeat, EndOfSession, Debug], "SoupBinTCP server")
  const client = Codec.binary(Client.schema, Client)
  const server = Codec.binary(Server.schema, Server)
  return {
    Client,
    Server,
    LoginRequest,
    LoginAccepted,
    /** What a client sends and receives. */
    clientCodec: Codec.duplex({ encode: client, decode: server }),
    /** What a server sends and receives. */
    serverCodec: Codec.duplex({ encode: server, decode: client })
  }
}

/** @category models */
export type Wire<P, Q> = ReturnType<typeof wire<P, Q>>
/** @category models */
export type ClientPacket<P> = Binary.Type<Wire<P, unknown>["Client"]>
/** @category models */
export type ServerPacket<Q> = Binary.Type<Wire<unknown, Q>["Server"]>

/**
 * Why a login failed: the server's Login Rejected reason, or no answer.
 *
 * @category errors
 */
export class LoginFailed extends Schema.TaggedError<LoginFailed>()("LoginFailed", {
  reason: Schema.Literals(["NotAuthorized", "SessionNotAvailable", "NoAnswer", "Unexpected"]),
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.reason}: ${this.detail}`
  }
}

// --- server ----------------------------------------------------------------------------------------

/**
 * The server's session: its id and the Sequenced Data sent in it (message n is
 * `messages[n - first]`), shared by every connection of the server.
 *
 * @category models
 */
export interface ServerSession<Q> {
  readonly id: string
  readonly messages: Array<Q>
  /** The sequence number of `messages[0]` (older ones were dropped for `capacity`). */
  first: number
  readonly capacity: number
  /** Connections logged in, that get what is published. */
  readonly subscribers: Set<Subscriber<Q>>
}

/** A logged-in connection, as the publisher sees it. @category models */
export interface Subscriber<Q> {
  readonly isOpen: () => boolean
  readonly send: (packet: ServerPacket<Q>) => Effect.Effect<void, MessagingError.MessagingError>
}

/** @category models */
export interface ServerConnection {
  loggedIn: boolean
  loggedOut: boolean
  username: string
  /** How long the client may be silent (from its login). */
  timeoutMs: number
}

/** @category models */
export interface ServerOptions<P, Q> {
  readonly wire: Wire<P, Q>
  readonly username: string
  readonly password: string
  /** The session id (at most 10 characters). */
  readonly session: string
  /** Send a heartbeat after this long without sending (default 1 second). */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** How long a new connection has to log in (default 5 seconds). */
  readonly loginTimeout?: Duration.Input | undefined
  /** The client timeout when a login asks for 0 (default 15,000 ms). */
  readonly defaultTimeoutMs?: number | undefined
  /** Sequenced messages kept for replay (default 1,000,000). */
  readonly capacity?: number | undefined
}

const nextSequence = <Q>(s: ServerSession<Q>) => s.first + s.messages.length

/**
 * The server side: validates the Login Request, answers Login Accepted (or
 * Rejected), replays from the requested sequence number with `resend`, then
 * puts the connection among the subscribers. A Logout Request closes the
 * connection; closing a logged-in connection from the server sends End of
 * Session. Only Unsequenced Data reaches the application.
 */
export const serverProtocol = <P, Q>(options: ServerOptions<P, Q>) => {
  type Link = Protocol.Link<ServerPacket<Q>, ClientPacket<P>, ServerConnection, ServerSession<Q>>
  const loginTimeout = options.loginTimeout ?? Duration.seconds(5)
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 15_000
  const session: ServerSession<Q> = {
    id: options.session,
    messages: [],
    first: 1,
    capacity: Math.max(1, options.capacity ?? 1_000_000),
    subscribers: new Set()
  }
  const reject = (link: Link, reason: "A" | "S", detail: string) =>
    Effect.andThen(
      link.send({ _tag: "LoginRejected", reason }),
      Effect.fail(new LoginFailed({ reason: reason === "A" ? "NotAuthorized" : "SessionNotAvailable", detail }))
    )
  return Protocol.make<ServerPacket<Q>, ClientPacket<P>, ServerConnection, ServerSession<Q>>({
    name: "SoupBinTCP server",
    session,
    connectionState: () => ({ loggedIn: false, loggedOut: false, username: "", timeoutMs: defaultTimeoutMs }),
    onConnect: (link: Link) =>
      Effect.gen(function*() {
        const first = yield* link.recvTimeout(loginTimeout)
        if (Option.isNone(first)) return yield* new LoginFailed({ reason: "NoAnswer", detail: "no Login Request in time" })
        const login = first.value
        if (login._tag !== "LoginRequest") return yield* new LoginFailed({ reason: "Unexpected", detail: `${login._tag} before Login Request` })
        if (login.username !== options.username || login.password !== options.password) {
          return yield* reject(link, "A", `user ${JSON.stringify(login.username)} not authorized`)
        }
        if (login.requestedSession !== "" && login.requestedSession !== session.id) {
          return yield* reject(link, "S", `session ${JSON.stringify(login.requestedSession)} is not ${JSON.stringify(session.id)}`)
        }
        const next = nextSequence(session)
        let from = login.requestedSequenceNumber === 0 ? next : Math.min(login.requestedSequenceNumber, next)
        if (from < session.first) return yield* reject(link, "S", `message ${from} is no longer kept (oldest ${session.first})`)
        link.state.username = login.username
        link.state.timeoutMs = login.heartbeatTimeoutMs > 0 ? login.heartbeatTimeoutMs : defaultTimeoutMs
        yield* link.send({ _tag: "LoginAccepted", session: session.id, sequenceNumber: from })
        // Replay (links' re_send: no hooks, no callbacks); messages published meanwhile are included.
        while (from < nextSequence(session)) {
          yield* link.resend({ _tag: "SequencedData", payload: session.messages[from - session.first]! })
          from++
        }
        // No suspension between the last check and this: nothing published is missed or repeated.
        link.state.loggedIn = true
        session.subscribers.add(link)
      }),
    onRecv: (message, link) =>
      message._tag === "LogoutRequest"
        ? Effect.andThen(Effect.sync(() => (link.state.loggedOut = true)), link.close)
        : Effect.void,
    deliver: (message) => message._tag === "UnsequencedData",
    heartbeat: {
      interval: options.heartbeatInterval ?? Duration.seconds(1),
      make: () => ({ _tag: "ServerHeartbeat" }),
      timeout: (link) => link.state.timeoutMs
    },
    isConnected: (link) => link.state.loggedIn && !link.state.loggedOut && link.nowMillis() - link.lastRecvMillis() < link.state.timeoutMs,
    onDisconnect: (link) => (link.state.loggedIn && !link.state.loggedOut ? link.send({ _tag: "EndOfSession" }) : Effect.void)
  })
}

/** A SoupBinTCP server: a `Svc` with the server protocol, and the session's publisher. */
export interface Server<P, Q> {
  readonly svc: Svc.Svc<ServerPacket<Q>, ClientPacket<P>>
  readonly session: ServerSession<Q>
  /** Appends `payload` to the session (returns its sequence number) and sends it to every logged-in client. */
  readonly publish: (payload: Q) => Effect.Effect<number>
  /** Unsequenced Data from the clients. */
  readonly requests: Stream.Stream<{ readonly from: Svc.Received<unknown>["from"]; readonly payload: P }>
}

/** @category models */
export type ServeOptions<P, Q> = ServerOptions<P, Q> & {
  readonly name?: string | undefined
  readonly callback?: Callback.Callback<ServerPacket<Q>, ClientPacket<P>> | undefined
  readonly maxConnections?: number | undefined
}

/**
 * Serves SoupBinTCP until the Scope closes (then every logged-in client gets
 * End of Session): on `address` (effect-mio's TCP or Unix, on the `Reactor`), or
 * on any `SocketServer` (`MemorySocket.listen` in tests).
 */
export const serve: {
  <P, Q>(options: ServeOptions<P, Q> & { readonly server: SocketServer.SocketServer["Service"] }): Effect.Effect<Server<P, Q>, MessagingError.MessagingError, Scope.Scope>
  <P, Q>(options: ServeOptions<P, Q> & { readonly address: string }): Effect.Effect<Server<P, Q>, MessagingError.MessagingError, Reactor.Reactor | Scope.Scope>
} = <P, Q>(
  options: ServeOptions<P, Q> & ({ readonly address: string } | { readonly server: SocketServer.SocketServer["Service"] })
): Effect.Effect<Server<P, Q>, MessagingError.MessagingError, any> =>
  Effect.gen(function*() {
    const protocol = serverProtocol(options)
    const common = {
      codec: options.wire.serverCodec,
      framer,
      protocol,
      name: options.name ?? "soupbin",
      maxConnections: options.maxConnections,
      callback: options.callback
    }
    const svc = "address" in options ? yield* Svc.bind({ ...common, address: options.address }) : yield* Svc.bind({ ...common, server: options.server })
    const session = protocol.session
    const publish = (payload: Q): Effect.Effect<number> =>
      Effect.suspend(() => {
        session.messages.push(payload)
        if (session.messages.length > session.capacity) {
          session.messages.shift()
          session.first++
        }
        const seq = nextSequence(session) - 1
        const live = [...session.subscribers].filter((link) => {
          if (link.isOpen()) return true
          session.subscribers.delete(link)
          return false
        })
        // a client whose connection fails here ends it itself; the message stays in the log
        return Effect.as(Effect.forEach(live, (link) => Effect.ignore(link.send({ _tag: "SequencedData", payload })), { discard: true }), seq)
      })
    const requests = svc.messages.pipe(
      Stream.filterMap((r) => (r.message._tag === "UnsequencedData" ? Result.succeed({ from: r.from, payload: r.message.payload }) : Result.failVoid))
    )
    return { svc, session, publish, requests }
  })

// --- client ----------------------------------------------------------------------------------------

/** The client's position, kept across reconnects by the protocol value. @category models */
export interface ClientSession {
  /** The session id the server named in its last Login Accepted ("" before). */
  sessionId: string
  /** The sequence number of the next Sequenced Data expected (0 before the first login). */
  nextSequence: number
}

/** @category models */
export interface ClientConnection {
  loggedIn: boolean
  ended: boolean
}

/** @category models */
export interface ClientOptions<P, Q> {
  readonly wire: Wire<P, Q>
  readonly username: string
  readonly password: string
  /** The session to join (default "": the current one). */
  readonly session?: string | undefined
  /** The first login's sequence number (default 1: the whole session; 0: only what comes next). */
  readonly sequenceNumber?: number | undefined
  /** Send a heartbeat after this long without sending (default 1 second). */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** A server silent this long is dead (default 15 seconds). */
  readonly serverTimeout?: Duration.Input | undefined
  /** How long the server may silent be before it drops us, sent in the login (default 15,000 ms). */
  readonly heartbeatTimeoutMs?: number | undefined
  /** How long to wait for the login's answer (default 5 seconds). */
  readonly loginTimeout?: Duration.Input | undefined
}

/**
 * The client side: logs in (with the next sequence number it expects, after
 * the first login), counts Sequenced Data, heartbeats, logs out when it closes.
 * The application gets Sequenced Data and End of Session. Reuse the same
 * protocol value to reconnect where it left off.
 */
export const clientProtocol = <P, Q>(options: ClientOptions<P, Q>) => {
  type Link = Protocol.Link<ClientPacket<P>, ServerPacket<Q>, ClientConnection, ClientSession>
  const serverTimeout = options.serverTimeout ?? Duration.seconds(15)
  const serverTimeoutMs = Duration.toMillis(serverTimeout)
  const session: ClientSession = { sessionId: "", nextSequence: 0 }
  return Protocol.make<ClientPacket<P>, ServerPacket<Q>, ClientConnection, ClientSession>({
    name: "SoupBinTCP client",
    session,
    connectionState: () => ({ loggedIn: false, ended: false }),
    onConnect: (link: Link) =>
      Effect.gen(function*() {
        yield* link.send({
          _tag: "LoginRequest",
          username: options.username,
          password: options.password,
          requestedSession: session.sessionId === "" ? (options.session ?? "") : session.sessionId,
          requestedSequenceNumber: session.nextSequence > 0 ? session.nextSequence : (options.sequenceNumber ?? 1),
          heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 15_000
        })
        const answer = yield* link.recvTimeout(options.loginTimeout ?? Duration.seconds(5))
        if (Option.isNone(answer)) return yield* new LoginFailed({ reason: "NoAnswer", detail: "no answer to the Login Request" })
        const a = answer.value
        if (a._tag === "LoginRejected") {
          return yield* new LoginFailed({
            reason: a.reason === "A" ? "NotAuthorized" : "SessionNotAvailable",
            detail: `Login Rejected (${a.reason})`
          })
        }
        if (a._tag !== "LoginAccepted") return yield* new LoginFailed({ reason: "Unexpected", detail: `${a._tag} before Login Accepted` })
        session.sessionId = a.session
        session.nextSequence = a.sequenceNumber
        link.state.loggedIn = true
      }),
    onRecv: (message, link) =>
      Effect.sync(() => {
        if (message._tag === "SequencedData") session.nextSequence++
        else if (message._tag === "EndOfSession") link.state.ended = true
      }),
    deliver: (message) => message._tag === "SequencedData" || message._tag === "EndOfSession",
    heartbeat: {
      interval: options.heartbeatInterval ?? Duration.seconds(1),
      make: () => ({ _tag: "ClientHeartbeat" }),
      timeout: serverTimeout
    },
    isConnected: (link) => link.state.loggedIn && !link.state.ended && link.nowMillis() - link.lastRecvMillis() < serverTimeoutMs,
    onDisconnect: (link) => (link.state.loggedIn && !link.state.ended ? link.send({ _tag: "LogoutRequest" }) : Effect.void)
  })
}

/** The client protocol's type. */
export type ClientProtocol<P, Q> = ReturnType<typeof clientProtocol<P, Q>>

/** @category models */
export interface ConnectOptions<P, Q> {
  readonly wire: Wire<P, Q>
  readonly protocol: ClientProtocol<P, Q>
  readonly name?: string | undefined
  readonly timeout?: Duration.Input | undefined
  readonly callback?: Callback.Callback<ClientPacket<P>, ServerPacket<Q>> | undefined
}

/**
 * Connects and logs in with `protocol` (reuse it to reconnect where it left
 * off); the connection is a typed `Clt`. On `address` (effect-mio's TCP or
 * Unix, on the `Reactor`) or over any `Socket` (`MemorySocket.make` in tests).
 */
export const connect: {
  <P, Q>(options: ConnectOptions<P, Q> & { readonly socket: Socket.Socket }): Effect.Effect<Clt.Clt<ClientPacket<P>, ServerPacket<Q>>, MessagingError.MessagingError, Scope.Scope>
  <P, Q>(options: ConnectOptions<P, Q> & { readonly address: string }): Effect.Effect<Clt.Clt<ClientPacket<P>, ServerPacket<Q>>, MessagingError.MessagingError, Reactor.Reactor | Scope.Scope>
} = <P, Q>(
  options: ConnectOptions<P, Q> & ({ readonly address: string } | { readonly socket: Socket.Socket })
): Effect.Effect<Clt.Clt<ClientPacket<P>, ServerPacket<Q>>, MessagingError.MessagingError, any> => {
  const common = {
    codec: options.wire.clientCodec,
    framer,
    protocol: options.protocol,
    name: options.name ?? "soupbin",
    timeout: options.timeout,
    callback: options.callback
  }
  return "address" in options ? Clt.connect({ ...common, address: options.address }) : Clt.connect({ ...common, socket: options.socket })
}

/** The Sequenced Data payloads of a connection, ending at End of Session or when it closes. */
export const payloads = <P, Q>(clt: Clt.Clt<ClientPacket<P>, ServerPacket<Q>>): Stream.Stream<Q, MessagingError.MessagingError> =>
  clt.messages.pipe(
    Stream.takeWhile((m) => m._tag !== "EndOfSession"),
    Stream.filterMap((m) => (m._tag === "SequencedData" ? Result.succeed(m.payload) : Result.failVoid))
  )
