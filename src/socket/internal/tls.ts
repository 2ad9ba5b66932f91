/**
 * TLS in place over a stream connection the reactor drives: the `upgrade` of a
 * TCP or Unix reader.
 *
 * node:tls does the TLS (OpenSSL, through Node); it needs a Node `Duplex` to
 * carry its ciphertext. `CipherStream` (./CipherStream.ts) is that Duplex, over our connection:
 * its reads come from the non-blocking fd through the reactor (one fiber per
 * connection, reading while node:tls wants more and stopping when it does not,
 * so backpressure reaches the kernel), and its writes go straight to the fd,
 * waiting for writability only when the socket buffer is full. On top,
 * `TlsLayer` is the plaintext side `pull` and the writer switch to: it queues
 * what the `TLSSocket` decrypts (bounded: the `TLSSocket` is paused past one
 * chunk's worth) and writes plaintext into it.
 *
 * - A client (`tls.connect({ socket })`) verifies the server as Node does
 *   (`ca`, `rejectUnauthorized`, the `servername` — or, without one, the peer's
 *   IP address — against the certificate) and sends SNI when `servername` is a
 *   name.
 * - A server goes through a `tls.Server` that never listens — the documented
 *   way to hand node:tls any Duplex (`server.emit("connection", duplex)`) — for
 *   Node's server behaviour: ALPN selection, the SNI it received, client
 *   certificate checks, and a handshake timeout (120 s).
 * - The upgrade succeeds once the handshake has; it fails with
 *   `SocketUpgradeError` (cause: Node's error, with its `code`) and the
 *   connection is shut down, so every later `pull` fails with the same error.
 * - Closing the connection (its Scope) destroys the `TLSSocket` and fails a
 *   waiting `pull` with close code 1006; a `CloseEvent` ends it with its code;
 *   releasing the writer sends `close_notify` and shuts down the write half.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as NetAddress from "effect/net/NetAddress"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import { Buffer } from "node:buffer"
import * as NodeTls from "node:tls"
import * as check from "../../internal/check.ts"
import * as IoErrorModule from "../../IoError.ts"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type { Session } from "../Tls.ts"
import { CipherStream } from "./CipherStream.ts"
import * as errors from "./errors.ts"
import { nodeStack, onNodeStack } from "./nodeStack.ts"
import type { Connection, ConnectionLayer } from "./StreamSocket.ts"

/** How a reader upgrades. @internal */
export interface ReaderConfig {
  /** Answer the handshake as the TLS server. */
  readonly server: boolean
  /** The reader's acquisition Scope: the ciphertext pump lives in it. */
  readonly scope: Scope.Scope
  readonly chunkSize: number
  readonly maxChunks: number
}

/**
 * The session of an upgraded reader, or `undefined` (not upgraded, not a reader
 * of ours, or the handshake has not finished).
 *
 * @internal
 */
export const sessionOf = (r: Socket.Reader): Session | undefined => {
  // Our readers carry their connection (StreamSocket's StreamReader).
  const conn = (r as { readonly conn?: unknown }).conn
  const layer = typeof conn === "object" && conn !== null ? (conn as Partial<Connection>).layer : undefined
  return layer instanceof TlsLayer ? layer.session : undefined
}

// --- options ---------------------------------------------------------------------

const upgradeError = errors.upgradeError

/** Why a handshake failed when the peer ended its side first: Node's words and code for it. */
const endedDuringHandshake = (): Error =>
  Object.assign(new Error("the peer ended the connection before the TLS handshake finished"), { code: "ECONNRESET" })

const invalid = (detail: string): Socket.SocketError => upgradeError(IoErrorModule.make("InvalidInput", "upgrade", detail))

/** What a value is, without showing it (keys and passphrases are secrets). */
const kindOf = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "an array" : v instanceof Uint8Array ? "a Uint8Array" : `a ${typeof v}`

const isText = (v: unknown): v is string | Uint8Array => typeof v === "string" || v instanceof Uint8Array

/** `undefined`, one `string | Uint8Array`, or a non-empty array of them. */
const pems = (name: string, v: unknown): string | undefined => {
  if (v === undefined || isText(v)) return undefined
  if (Array.isArray(v) && v.length > 0 && v.every(isText)) return undefined
  return `${name} is a PEM string or Uint8Array, or a non-empty array of them, not ${check.show(v)}`
}

const isSecret = (v: unknown): boolean => Redacted.isRedacted(v) && isText(Redacted.value(v))

/**
 * The first bad upgrade option, or `undefined`. Secrets are described, never
 * shown.
 *
 * @internal
 */
export const checkUpgradeOptions = (o: Socket.TlsUpgradeOptions | undefined): string | undefined => {
  const bad = check.object("options", o)
  if (bad !== undefined || o === undefined) return bad
  const key = o.key as unknown
  const passphrase = o.passphrase as unknown
  return check.first(
    o.servername === undefined || (typeof o.servername === "string" && o.servername.length > 0 && o.servername.length <= 255)
      ? undefined
      : `servername is a host name of 1 to 255 characters, not ${check.show(o.servername)}`,
    key === undefined || isSecret(key) || (Array.isArray(key) && key.length > 0 && key.every(isSecret))
      ? undefined
      : `key is a Redacted PEM string or Uint8Array, or a non-empty array of them, not ${kindOf(key)}`,
    pems("cert", o.cert),
    pems("ca", o.ca),
    passphrase === undefined || (Redacted.isRedacted(passphrase) && typeof Redacted.value(passphrase) === "string")
      ? undefined
      : `passphrase is a Redacted string, not ${kindOf(passphrase)}`,
    o.alpnProtocols === undefined ||
      (Array.isArray(o.alpnProtocols) &&
        o.alpnProtocols.every((p) => typeof p === "string" && p.length > 0 && Buffer.byteLength(p) <= 255))
      ? undefined
      : `alpnProtocols is an array of protocol names of 1 to 255 bytes, not ${check.show(o.alpnProtocols)}`,
    check.boolean("requestCert", o.requestCert),
    check.boolean("rejectUnauthorized", o.rejectUnauthorized)
  )
}

const buffers = (v: string | Uint8Array | ReadonlyArray<string | Uint8Array>): Array<Buffer> =>
  (isText(v) ? [v] : v).map((x) => Buffer.from(x))

/** The credentials and trust anchors of `o`, as node:tls takes them. */
const credentials = (o: Socket.TlsUpgradeOptions): NodeTls.SecureContextOptions => {
  const out: { -readonly [K in keyof NodeTls.SecureContextOptions]: NodeTls.SecureContextOptions[K] } = {}
  if (o.key !== undefined) out.key = (Redacted.isRedacted(o.key) ? [o.key] : o.key).map((k) => Buffer.from(Redacted.value(k)))
  if (o.cert !== undefined) out.cert = buffers(o.cert)
  if (o.ca !== undefined) out.ca = buffers(o.ca)
  if (o.passphrase !== undefined) out.passphrase = Redacted.value(o.passphrase)
  return out
}

// --- upgrade ---------------------------------------------------------------------

/**
 * Upgrades `conn` in place (the reader's `upgrade`).
 *
 * @internal
 */
export const upgrade = (
  conn: Connection,
  options: Socket.TlsUpgradeOptions | undefined,
  config: ReaderConfig
): Effect.Effect<void, Socket.SocketError> =>
  Effect.suspend(() => {
    const bad = checkUpgradeOptions(options)
    if (bad !== undefined) return Effect.fail(invalid(bad))
    if (conn.layer !== undefined) {
      return Effect.fail(upgradeError(IoErrorModule.make("AlreadyExists", "upgrade", "the connection is already upgraded")))
    }
    if (!conn.isOpen || conn.closeCode !== undefined) {
      return Effect.fail(upgradeError(IoErrorModule.make("Closed", "upgrade", "the connection is closed")))
    }
    if (conn.pending !== undefined) return Effect.fail(upgradeError(conn.pending))
    const o = options ?? {}
    const hasKey = o.key !== undefined
    const hasCert = o.cert !== undefined
    if (config.server && (!hasKey || !hasCert)) return Effect.fail(invalid("a server upgrade (tlsServer) needs both key and cert"))
    if (hasKey !== hasCert) return Effect.fail(invalid("key and cert are given together or not at all"))
    return Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        yield* restore(onNodeStack)
        if (conn.layer !== undefined || !conn.isOpen) {
          return yield* Effect.fail(upgradeError(IoErrorModule.make("Closed", "upgrade", "the connection closed or was upgraded meanwhile")))
        }
        const cipher = new CipherStream(conn, config.chunkSize)
        cipher.pump = yield* Effect.forkIn(cipher.run, config.scope, { startImmediately: true })
        const layer = new TlsLayer(conn, cipher, config)
        // From here on writes go to the TLSSocket (which holds them until the
        // handshake is done), and a pull waiting on the stream moves over.
        conn.layer = layer
        yield* restore(config.server ? layer.accept(o) : layer.connect(o))
      })
    )
  })

// --- plaintext: the layer pull and the writer use ------------------------------------

type Resume = (effect: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError>) => void

const writeFailure = (cause: unknown): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketWriteError({ cause }) })

const closedWrite = () =>
  errors.writeError(IoErrorModule.make("Closed", "send", "the TLS connection was closed"))

/**
 * The plaintext side of an upgraded connection. `pull` takes what the
 * `TLSSocket` has decrypted (up to `maxChunks` chunks, as Node delivered them:
 * no copy) or waits for it; the queue holds at most about one `chunkSize` —
 * past that the `TLSSocket` is paused, which stops the `CipherStream`, which
 * stops reading the fd. An orderly end (peer's `close_notify` or end of stream)
 * is delivered after the queued data; an error after it as well.
 */
class TlsLayer implements ConnectionLayer {
  readonly #conn: Connection
  readonly #cipher: CipherStream
  readonly #config: ReaderConfig
  #socket: NodeTls.TLSSocket | undefined = undefined
  readonly #queue: Array<Uint8Array> = []
  #queued = 0
  #paused = false
  #waiter: Resume | undefined = undefined
  /** The writes waiting for their callback. */
  readonly #writing = new Set<(error?: Error | null) => void>()
  /** Open once writes can go to the TLSSocket (a server's exists only after its handshake), or the attempt ended. */
  readonly #ready = Latch.makeUnsafe(false)
  /** Why the connection ended, once it has: every later pull fails with it. */
  #end: Socket.SocketError | undefined = undefined
  session: Session | undefined = undefined

  constructor(conn: Connection, cipher: CipherStream, config: ReaderConfig) {
    this.#conn = conn
    this.#cipher = cipher
    this.#config = config
  }

  // --- handshake -----------------------------------------------------------------

  /** The client handshake: `tls.connect` over the cipher stream. */
  connect(o: Socket.TlsUpgradeOptions): Effect.Effect<void, Socket.SocketError> {
    return this.#handshake((succeed, fail) => {
      const host = o.servername === undefined ? peerHost(this.#conn) : undefined
      // allowHalfOpen (the peer's close_notify leaves our write side open, as
      // its FIN does on our plain sockets) is read by tls.connect but missing
      // from @types/node's ConnectionOptions.
      const options: NodeTls.ConnectionOptions & { readonly allowHalfOpen: boolean } = {
        socket: this.#cipher,
        ...credentials(o),
        ...(o.servername === undefined ? {} : { servername: o.servername }),
        ...(host === undefined ? {} : { host }),
        ...(o.alpnProtocols === undefined ? {} : { ALPNProtocols: [...o.alpnProtocols] }),
        rejectUnauthorized: o.rejectUnauthorized !== false,
        allowHalfOpen: true
      }
      const socket = NodeTls.connect(options)
      // Writes go to it from now on: it holds them until the handshake is done.
      this.#socket = socket
      this.#ready.openUnsafe()
      socket.once("secureConnect", () => succeed(socket))
      socket.on("error", fail)
    })
  }

  /**
   * The server handshake: a `tls.Server` that never listens takes the cipher
   * stream as a connection. Its own rejection of an unauthorized client
   * certificate is silent (the socket is destroyed, no error says why), so it
   * is asked only to request the certificate, and the check is made here, with
   * Node's reason.
   */
  accept(o: Socket.TlsUpgradeOptions): Effect.Effect<void, Socket.SocketError> {
    return this.#handshake((succeed, fail) => {
      const server = NodeTls.createServer({
        ...credentials(o),
        ...(o.alpnProtocols === undefined ? {} : { ALPNProtocols: [...o.alpnProtocols] }),
        requestCert: o.requestCert === true,
        rejectUnauthorized: false,
        allowHalfOpen: true
      })
      server.once("secureConnection", (socket: NodeTls.TLSSocket) => {
        this.#socket = socket
        if (o.requestCert === true && o.rejectUnauthorized !== false && !socket.authorized) {
          const none = socket.getPeerX509Certificate() === undefined
          const e = Object.assign(
            new Error(none ? "the client sent no certificate" : `the client certificate was refused: ${socket.authorizationError}`),
            { code: none ? "ERR_TLS_NO_CLIENT_CERTIFICATE" : String(socket.authorizationError) }
          )
          socket.destroy()
          return fail(e)
        }
        succeed(socket)
      })
      server.on("tlsClientError", fail)
      server.emit("connection", this.#cipher)
    })
  }

  /**
   * Runs a handshake started by `start`, which calls `succeed` or `fail` once.
   * A failure (or the cipher stream closing first) ends the connection with
   * the upgrade error; an interruption ends it as a local teardown.
   */
  #handshake(
    start: (succeed: (socket: NodeTls.TLSSocket) => void, fail: (cause: unknown) => void) => void
  ): Effect.Effect<void, Socket.SocketError> {
    return Effect.callback<void, Socket.SocketError>((resume) => {
      let settled = false
      // node:tls reports why a handshake failed on the same turn it closes the
      // stream under it, after the stream's own "close": let its error win.
      const onCipherClose = () => setImmediate(() => fail(new Error("the connection closed during the TLS handshake")))
      // A peer that has ended its side (FIN) before the handshake finished can never
      // finish it: the cipher stream is half-open, so node:tls would wait for its
      // handshake timeout (120 s on a server). Fail as Node's own sockets do, once
      // node:tls has had its turn with the bytes that came before the end.
      const onCipherEnd = () => setImmediate(() => fail(endedDuringHandshake()))
      const forget = () => {
        this.#cipher.off("close", onCipherClose)
        this.#cipher.off("end", onCipherEnd)
      }
      const succeed = (socket: NodeTls.TLSSocket) => {
        if (settled) return
        settled = true
        forget()
        this.session = sessionOfSocket(socket, this.#config.server)
        this.#listen(socket)
        this.#ready.openUnsafe()
        resume(Effect.void)
      }
      const fail = (cause: unknown) => {
        if (settled) return
        settled = true
        forget()
        const e = upgradeError(cause)
        this.#finish(e)
        this.#teardown()
        resume(Effect.fail(e))
      }
      this.#cipher.once("close", onCipherClose)
      this.#cipher.once("end", onCipherEnd)
      try {
        start(succeed, fail)
      } catch (cause) {
        // createSecureContext refuses a key, certificate or passphrase by throwing.
        fail(cause)
      }
      return Effect.sync(() => {
        if (settled) return
        settled = true
        forget()
        this.#finish(errors.closeError(1006))
        this.#teardown()
      })
    })
  }

  /** From the end of the handshake, the TLSSocket's data and end go to `pull`. */
  #listen(socket: NodeTls.TLSSocket): void {
    socket.on("data", this.#onData)
    socket.on("end", this.#onEnd)
    socket.on("error", this.#onError)
    socket.on("close", this.#onClose)
  }

  // --- reading -------------------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk)
    this.#queued += chunk.length
    if (!this.#paused && this.#queued >= this.#config.chunkSize) {
      this.#paused = true
      this.#socket!.pause()
    }
    this.#deliver()
  }

  readonly #onEnd = (): void => this.#finish(errors.closeError(1000))
  readonly #onError = (cause: Error): void =>
    this.#finish(new Socket.SocketError({ reason: new Socket.SocketReadError({ cause }) }))
  readonly #onClose = (): void => {
    this.#finish(errors.closeError(this.#conn.closeCode ?? 1006, this.#conn.closeReason))
    // node:tls calls back every write it took, also when destroyed; in case one
    // is left, a closed connection fails it.
    for (const settle of [...this.#writing]) settle(new Error("the TLS connection was closed"))
  }

  #finish(e: Socket.SocketError): void {
    this.#end ??= e
    this.#ready.openUnsafe()
    this.#deliver()
  }

  #take(): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> | undefined {
    if (this.#queue.length > 0) {
      const n = Math.min(this.#queue.length, this.#config.maxChunks)
      const chunks = this.#queue.splice(0, n) as unknown as NonEmptyReadonlyArray<Uint8Array>
      for (const c of chunks) this.#queued -= c.length
      if (this.#paused && this.#queued < this.#config.chunkSize && this.#end === undefined) {
        this.#paused = false
        this.#socket!.resume()
      }
      return Effect.succeed(chunks)
    }
    return this.#end === undefined ? undefined : Effect.fail(this.#end)
  }

  #deliver(): void {
    const waiter = this.#waiter
    if (waiter === undefined) return
    const r = this.#take()
    if (r === undefined) return
    this.#waiter = undefined
    waiter(r)
  }

  readonly pull: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, Socket.SocketError> = Effect.callback((resume) => {
    const r = this.#take()
    if (r !== undefined) return resume(r)
    this.#waiter = resume
    return Effect.sync(() => {
      if (this.#waiter === resume) this.#waiter = undefined
    })
  })

  // --- writing -------------------------------------------------------------------

  /**
   * Writes plaintext; succeeds once node:tls has encrypted it and the
   * ciphertext is in the kernel (the write's callback) — as a write to a plain
   * socket does, so what a write acknowledged survives a close that follows,
   * and the caller may reuse its buffers.
   */
  readonly write = (bufs: ReadonlyArray<Uint8Array>): Effect.Effect<void, Socket.SocketError> =>
    Effect.flatMap(onNodeStack, () => {
      const socket = this.#socket
      if (socket === undefined && this.#end === undefined) return this.#ready.whenOpen(this.write(bufs))
      if (socket === undefined || socket.destroyed || socket.writableEnded) return Effect.fail(closedWrite())
      return Effect.callback<void, Socket.SocketError>((resume) => {
        const settle = (error?: Error | null) => {
          if (!this.#writing.delete(settle)) return
          resume(error ? Effect.fail(writeFailure(error)) : Effect.void)
        }
        this.#writing.add(settle)
        if (bufs.length > 1) socket.cork()
        for (let i = 0; i < bufs.length; i++) socket.write(bufs[i]!, i === bufs.length - 1 ? settle : undefined)
        if (bufs.length > 1) socket.uncork()
        // Interrupted: the bytes are node:tls's already; stop waiting only.
        return Effect.sync(() => this.#writing.delete(settle))
      })
    })

  close(code: number, reason: string | undefined): void {
    this.#finish(errors.closeError(code, reason))
    this.#teardown()
  }

  /**
   * Sends `close_notify` and then shuts down the write half. With no write in
   * flight (every write waits for its bytes to reach the kernel) node:tls
   * writes the alert at once, so a close that follows does not lose it.
   */
  readonly endWrite: Effect.Effect<void> = Effect.map(onNodeStack, () => {
    const socket = this.#socket
    if (socket !== undefined && !socket.destroyed && !socket.writableEnded) socket.end()
  })

  destroy(): void {
    this.#finish(errors.closeError(this.#conn.closeCode ?? 1006, this.#conn.closeReason))
    this.#teardown()
  }

  /** Ends the TLSSocket (or, before there is one, the cipher stream) and the connection's I/O. */
  #teardown(): void {
    this.#queue.length = 0
    this.#queued = 0
    const socket = this.#socket
    nodeStack(() => {
      socket?.destroy()
      this.#cipher.destroy()
    })
  }
}

/** The peer's IP address, which a client checks the certificate against when no servername is given (as Node checks the host it dialled). */
const peerHost = (conn: Connection): string | undefined => {
  const stream = conn.stream as Partial<{ peerAddr(): SocketAddress.SocketAddress | IoError }>
  if (typeof stream.peerAddr !== "function") return undefined
  const peer = stream.peerAddr()
  return !(peer instanceof IoError) && SocketAddress.isInet(peer) ? NetAddress.formatIp(peer.address) : undefined
}

const sessionOfSocket = (socket: NodeTls.TLSSocket, server: boolean): Session => {
  const name = (socket as { servername?: unknown }).servername
  const alpn = socket.alpnProtocol
  const error = socket.authorizationError as unknown
  return {
    role: server ? "server" : "client",
    protocol: socket.getProtocol() ?? "unknown",
    cipher: socket.getCipher().standardName,
    alpnProtocol: typeof alpn === "string" ? alpn : undefined,
    servername: typeof name === "string" && name.length > 0 ? name : undefined,
    authorized: socket.authorized,
    authorizationError: error === undefined || error === null ? undefined : String(error),
    peerCertificate: socket.getPeerX509Certificate()
  }
}
