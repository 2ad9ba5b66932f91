/**
 * The `"kernel"` transport: DCCP done by the kernel (`SOCK_DCCP`), driven by the
 * reactor and presented as the same `DccpSocket`/`DccpServer`. The engine is not
 * involved; `info` reports what the kernel exposes (MPS, CCIDs). Where the
 * kernel has no DCCP (Linux ≥ 6.16), `connect`/`listen` fail with kind
 * `Unsupported`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { IoError } from "../../IoError.ts"
import * as DccpKernel from "../../net/DccpKernel.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import { Reactor, type Registration } from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import type { CcidChoice, CommonOptions, ConnectOptions, DccpServer, DccpSocket, ListenOptions } from "../Dccp.ts"
import { runServer } from "../internal/runServer.ts"
import * as DccpError from "../DccpError.ts"

const encoder = new TextEncoder()
const TypeId = "~effect-mio/Dccp" as const

const toError = (e: IoError): DccpError.DccpError =>
  e.kind === "ConnectionRefused"
    ? DccpError.make("ConnectionRefused", e.message)
    : e.kind === "MessageTooLarge"
    ? DccpError.make("MessageTooLarge", e.message)
    : e.kind === "TimedOut"
    ? DccpError.make("TimedOut", e.message)
    : DccpError.fromIo(e)

/** The CCID preference lists of the options, as the kernel's socket options take them. */
const ccidOptions = (o: CommonOptions): Pick<DccpKernel.Options, "ccids" | "txCcids" | "rxCcids"> => {
  const list = (c: CcidChoice | undefined) => (c === undefined ? undefined : typeof c === "number" ? [c] : [...c])
  return {
    ...(o.ccid === undefined ? {} : { ccids: list(o.ccid) }),
    ...(o.txCcid === undefined ? {} : { txCcids: list(o.txCcid) }),
    ...(o.rxCcid === undefined ? {} : { rxCcids: list(o.rxCcid) })
  }
}

/** A DccpSocket over a connected kernel socket and its registration. */
const socketOf = (s: DccpKernel.DccpKernelSocket, registration: Registration, role: "client" | "server", code: number): DccpSocket => {
  const buf = new Uint8Array(65536)
  let closed = false
  const recv = Effect.flatMap(Effect.mapError(registration.readIo(() => s.recv(buf)), toError), (n) => {
    if (n === 0) {
      closed = true
      return Effect.fail(DccpError.make("Closed", "the peer closed the connection"))
    }
    return Effect.succeed(buf.slice(0, n))
  })
  const local = s.localAddr()
  const remote = s.peerAddr()
  return {
    [TypeId]: TypeId,
    localAddress: local instanceof IoError ? SocketAddress.unnamed : local,
    remoteAddress: remote instanceof IoError ? SocketAddress.unnamed : remote,
    serviceCode: code,
    send: (datagram) =>
      Effect.mapError(registration.writeIo(() => s.send(typeof datagram === "string" ? encoder.encode(datagram) : datagram)), toError).pipe(Effect.asVoid),
    recv,
    // Ends when the peer closes (recv of 0), fails on errors.
    datagrams: Stream.fromEffectRepeat(recv).pipe(Stream.catchIf((e) => closed && e.kind === "Closed", () => Stream.empty)),
    close: Effect.sync(() => {
      registration.deregister()
      s.close()
    }),
    info: Effect.sync(() => {
      const mps = s.mps()
      const ccids = s.ccids()
      return {
        state: "OPEN",
        role,
        transport: "kernel",
        mps: typeof mps === "number" ? mps : 0,
        txCcid: ccids instanceof IoError ? 0 : ccids.tx,
        rxCcid: ccids instanceof IoError ? 0 : ccids.rx,
        rttMs: undefined,
        cwnd: undefined,
        lossEvents: 0,
        lostPackets: 0,
        sendQueueLength: 0,
        receiveDropped: 0,
        stats: {} as never
      }
    })
  }
}

/** @internal */
export const connect = (options: ConnectOptions, code: number): Effect.Effect<DccpSocket, DccpError.DccpError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const s = yield* Effect.mapError(
      DccpKernel.connect(options.address, { serviceCodes: [code], ...ccidOptions(options) }),
      toError
    )
    const registration = yield* Effect.mapError(reactor.register(s), toError)
    yield* Effect.mapError(
      registration.writeIo(() => {
        const e = s.takeError()
        if (e !== undefined) return e
        const peer = s.peerAddr()
        return peer instanceof IoError ? (peer.kind === "NotConnected" ? WouldBlock : peer) : true
      }),
      toError
    )
    return socketOf(s, registration, "client", code)
  })

/** @internal */
export const listen = (options: ListenOptions, codes: ReadonlyArray<number>): Effect.Effect<DccpServer, DccpError.DccpError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const listener = yield* Effect.mapError(
      DccpKernel.listen(options.address, { serviceCodes: codes, ...ccidOptions(options), backlog: options.backlog }),
      toError
    )
    const registration = yield* Effect.mapError(reactor.register(listener), toError)
    const local = listener.localAddr()
    const address = local instanceof IoError ? SocketAddress.unnamed : local
    const accept: DccpServer["accept"] = Effect.gen(function*() {
      const [s] = yield* Effect.mapError(registration.readIo(() => listener.accept()), toError)
      yield* Effect.addFinalizer(() => Effect.sync(() => s.close()))
      if (options.serverTimewait === true) s.setServerTimewait(true)
      const reg = yield* Effect.mapError(reactor.register(s), toError)
      return socketOf(s, reg, "server", codes[0]!)
    })
    return {
      [TypeId]: TypeId,
      address,
      port: "port" in address ? address.port : 0,
      accept,
      run: (handler) => runServer(accept, handler),
      stats: () => ({}) as never
    } satisfies DccpServer
  })
