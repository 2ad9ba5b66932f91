/**
 * effect-mio: mio's readiness core, sockets, a reactor and protocols for Effect
 * on Node.js and Linux.
 *
 * @since 0.1.0
 */

// --- errors and sentinels ------------------------------------------------------
/** @since 0.1.0 */
export * as IoError from "./IoError.ts"
/** @since 0.1.0 */
export { isWouldBlock, WouldBlock } from "./WouldBlock.ts"

// --- observability --------------------------------------------------------------
/** @since 0.2.0 */
export * as Metrics from "./Metrics.ts"

// --- floor 2: readiness (mio) ----------------------------------------------------
/** @since 0.1.0 */
export * as Event from "./poll/Event.ts"
/** @since 0.1.0 */
export * as Events from "./poll/Events.ts"
/** @since 0.1.0 */
export * as Interest from "./poll/Interest.ts"
/** @since 0.1.0 */
export * as IoSource from "./poll/IoSource.ts"
/** @since 0.1.0 */
export * as Poll from "./poll/Poll.ts"
/** @since 0.1.0 */
export * as Registry from "./poll/Registry.ts"
/** @since 0.1.0 */
export * as Signals from "./poll/Signals.ts"
/** @since 0.1.0 */
export * as Source from "./poll/Source.ts"
/** @since 0.1.0 */
export { SourceFd } from "./poll/SourceFd.ts"
/** @since 0.1.0 */
export * as Timer from "./poll/Timer.ts"
/** @since 0.1.0 */
export { Token } from "./poll/Token.ts"
/** @since 0.1.0 */
export * as Waker from "./poll/Waker.ts"

// --- floor 3: sockets and pipes with mio's contract ----------------------------
/** @since 0.1.0 */
export * as Pipe from "./net/Pipe.ts"
/** @since 0.2.0 */
export * as Resolver from "./net/Resolver.ts"
/** @since 0.1.0 */
export * as SocketAddress from "./net/SocketAddress.ts"
/** @since 0.1.0 */
export * as TcpListener from "./net/TcpListener.ts"
/** @since 0.1.0 */
export * as TcpStream from "./net/TcpStream.ts"
/** @since 0.1.0 */
export * as UdpSocket from "./net/UdpSocket.ts"
/** @since 0.1.0 */
export * as UnixDatagram from "./net/UnixDatagram.ts"
/** @since 0.1.0 */
export * as UnixListener from "./net/UnixListener.ts"
/** @since 0.1.0 */
export * as UnixStream from "./net/UnixStream.ts"

// --- floor 4: the reactor ---------------------------------------------------------
/** @since 0.1.0 */
export * as IdleStrategy from "./reactor/IdleStrategy.ts"
/** @since 0.1.0 */
export * as Reactor from "./reactor/Reactor.ts"

// --- floor 5: effect/socket adapters ----------------------------------------------
/** @since 0.2.0 */
export * as Handler from "./socket/Handler.ts"
/** @since 0.1.0 */
export * as Tcp from "./socket/Tcp.ts"
/** @since 0.2.0 */
export * as Tls from "./socket/Tls.ts"
/** @since 0.1.0 */
export * as Udp from "./socket/Udp.ts"
/** @since 0.1.0 */
export * as Unix from "./socket/Unix.ts"

// --- floor 6: protocols ----------------------------------------------------------
/** @since 0.1.0 */
export * as Dccp from "./dccp/Dccp.ts"
/** @since 0.1.0 */
export * as DccpError from "./dccp/DccpError.ts"
/** @since 0.1.0 */
export * as DccpEngine from "./dccp/engine/index.ts"
/** @since 0.1.0 */
export * as DccpKernel from "./net/DccpKernel.ts"
/** @since 0.1.0 */
export * as RawSocket from "./net/RawSocket.ts"

// --- floor 6: typed messaging (links' Clt/Svc) -------------------------------------
/** @since 0.2.0 */
export * as Binary from "./framing/Binary.ts"
/** @since 0.2.0 */
export * as Callback from "./clt/Callback.ts"
/** @since 0.2.0 */
export * as Clt from "./clt/Clt.ts"
/** @since 0.2.0 */
export * as Codec from "./framing/Codec.ts"
/** @since 0.2.0 */
export * as ConId from "./clt/ConId.ts"
/** @since 0.2.0 */
export * as FrameError from "./framing/FrameError.ts"
/** @since 0.2.0 */
export * as Framer from "./framing/Framer.ts"
/** @since 0.2.0 */
export * as MessagingError from "./clt/MessagingError.ts"
/** @since 0.2.0 */
export * as Protocol from "./clt/Protocol.ts"
/** @since 0.2.0 */
export * as Svc from "./svc/Svc.ts"
/** @since 0.2.0 */
export * as Endpoint from "./rudp/Endpoint.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as EndpointServer from "./rudp/EndpointServer.ts"
/** @since 0.2.0 */
export * as Guarantee from "./rudp/Guarantee.ts"
/** @since 0.2.0 */
export * as Rudp from "./rudp/Rudp.ts"
/** @since 0.2.0 */
export * as RudpEngine from "./rudp/engine/index.ts"
/** @since 0.2.0 */
export * as RudpError from "./rudp/RudpError.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as RudpMetrics from "./rudp/RudpMetrics.ts"
/** @since 0.2.0 */
export * as UdpLike from "./rudp/UdpLike.ts"
