/**
 * TLS for our TCP and Unix `Socket`s, through Effect's own hook:
 * `reader.upgrade(options)` (`Socket.TlsUpgradeOptions`) turns the reader's
 * connection into a TLS connection in place — STARTTLS-style after plaintext,
 * or at once after connecting or accepting. From then on `pull` yields
 * plaintext and the writer takes plaintext. node:tls (OpenSSL, through Node)
 * does the TLS, over our connection driven by the reactor.
 *
 * - Role: a socket that dials upgrades as the TLS client, one a `SocketServer`
 *   accepted as the TLS server (`key` and `cert` required); the `tlsServer`
 *   option of `connect`/`listen` overrides it, as `NodeSocket`'s does.
 * - Client: the server's certificate is verified against `ca` (default: Node's
 *   root store) unless `rejectUnauthorized: false`, and its name against
 *   `servername` — which is also sent as SNI — or, without one, against the
 *   peer's IP address (TCP) or `"localhost"` (Unix), as node:tls checks the host
 *   it dialled.
 * - Server: ALPN picks from `alpnProtocols`; `requestCert` asks for a client
 *   certificate, refused (the upgrade fails) when it is missing or not signed
 *   by `ca`, unless `rejectUnauthorized: false`. A handshake not done within
 *   120 s fails (node:tls's `handshakeTimeout`).
 * - A failed handshake fails the upgrade with `SocketUpgradeError` (cause:
 *   Node's error, with its `code`: `DEPTH_ZERO_SELF_SIGNED_CERT`,
 *   `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, …) and shuts the
 *   connection down; later pulls fail with the same error. A bad option fails
 *   it with `SocketUpgradeError` whose cause is an `IoError` of kind
 *   `InvalidInput` naming the option (secrets are never shown).
 * - What was negotiated — protocol, cipher, ALPN protocol, SNI name, the peer's
 *   certificate and whether it was verified — is `Tls.session(reader)`.
 *
 * @since 0.2.0
 */
import * as Option from "effect/Option"
import type * as Socket from "effect/socket/Socket"
import type { X509Certificate } from "node:crypto"
import { sessionOf } from "./internal/tls.ts"

/**
 * What a TLS handshake settled, seen from one end.
 *
 * @since 0.2.0
 * @category models
 */
export interface Session {
  /** The part this end took in the handshake. */
  readonly role: "client" | "server"
  /** The protocol version: `"TLSv1.3"`, `"TLSv1.2"`. */
  readonly protocol: string
  /** The cipher suite, by its IANA name (`"TLS_AES_256_GCM_SHA384"`). */
  readonly cipher: string
  /** The application protocol ALPN chose, or `undefined` (none offered, or none in common). */
  readonly alpnProtocol: string | undefined
  /**
   * The server name of SNI: the one the client sent (the client's
   * `servername`), or `undefined` when it sent none.
   */
  readonly servername: string | undefined
  /**
   * Whether the peer's certificate was verified: a client's view of the
   * server (chain and name); a server's view of the client's certificate, when
   * it asked for one (`requestCert`). `false` only survives the handshake with
   * `rejectUnauthorized: false`.
   */
  readonly authorized: boolean
  /** Why it was not verified: Node's code (`"DEPTH_ZERO_SELF_SIGNED_CERT"`), or `undefined`. */
  readonly authorizationError: string | undefined
  /** The certificate the peer presented, if any. */
  readonly peerCertificate: X509Certificate | undefined
}

/**
 * The TLS session of a reader of a `Tcp` or `Unix` socket once its `upgrade`
 * has succeeded; `None` before that, for a reader that was never upgraded, or
 * for a reader of another implementation.
 *
 * @since 0.2.0
 * @category getters
 */
export const session = (reader: Socket.Reader): Option.Option<Session> => Option.fromUndefinedOr(sessionOf(reader))
