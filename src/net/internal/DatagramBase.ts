/**
 * What every datagram socket of effect-mio shares (UDP, raw IP): the cached
 * destination encoding, single-datagram I/O with source addresses, `connect`,
 * and batched I/O on `recvmmsg`/`sendmmsg` through native buffers that live
 * as long as the socket.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as check from "../../internal/check.ts"
import * as IoError from "../../IoError.ts"
import { ioResult } from "../../poll/IoSource.ts"
import { isOk } from "../../sys/call.ts"
import * as C from "../../sys/constants.ts"
import * as sock from "../../sys/socket.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import * as SocketAddress from "../SocketAddress.ts"
import { Batch, type BatchOptions } from "./Batch.ts"
import { TargetCache } from "./open.ts"
import { done, IpSocketBase, notBytes } from "./SocketBase.ts"

/** What `sendArea` hands out on a closed socket (never sent). */
let closedArea: Uint8Array | undefined

/**
 * One received datagram of a batch. `payload` is a view into the socket's batch
 * buffer, valid until the next `recvBatch`; copy it (`slice()`) to keep it. The
 * array `recvBatch` returns and its entries are reused by the next call too, so
 * that receiving a stream of datagrams allocates nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReceivedDatagram {
  readonly payload: Uint8Array
  readonly address: SocketAddress.SocketAddress
  /**
   * The datagram was longer than the batch's `bufferSize` and `payload` holds
   * only its first `bufferSize` bytes (`MSG_TRUNC`). Never with the default
   * buffer size, which holds any UDP datagram.
   */
  readonly truncated: boolean
  /** The datagram's length as sent: `payload.length`, or more when `truncated`. */
  readonly size: number
}

/**
 * One datagram to send in a batch; `address` may be omitted on a connected socket.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutgoingDatagram {
  readonly payload: Uint8Array
  readonly address?: SocketAddress.Input | undefined
}

/**
 * What every datagram socket shares (the base of `UdpSocket` and `RawSocket`;
 * not exported from the package index).
 *
 * @since 0.1.0
 * @category models
 */
export abstract class DatagramBase extends IpSocketBase {
  readonly #targets = new TargetCache(SocketAddress.resolve)
  #batch: Batch | undefined = undefined
  readonly #batchOptions: BatchOptions | undefined

  constructor(fd: number, domain: number, batchOptions?: BatchOptions) {
    super(fd, domain)
    this.#batchOptions = batchOptions
  }

  /** The encoded form of `target`, cached for repeated sends to one destination. @internal */
  target(target: SocketAddress.Input, syscall: string): SocketAddress.Encoded | IoError.IoError {
    return this.#targets.get(target, syscall)
  }

  /** Sends one datagram to `target`. @since 0.1.0 */
  sendTo(buf: Uint8Array, target: SocketAddress.Input): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("sendto")
    if (!(buf instanceof Uint8Array)) return notBytes("sendto", buf)
    const to = this.target(target, "sendto")
    if (to instanceof IoError.IoError) return to
    const r = sock.sendto(this.fd, buf, 0, to.bytes, to.length)
    // The destination is formatted only for an error, which names it as connect's does.
    return this.#sentOne(typeof r === "number" || r === WouldBlock ? r : ioResult(r, SocketAddress.format(to.address)))
  }
  /** Receives one datagram: `[length, source]`. A longer datagram is cut to `buf`. @since 0.1.0 */
  recvFrom(buf: Uint8Array): readonly [number, SocketAddress.SocketAddress] | WouldBlock | IoError.IoError {
    return this.#recvFrom(buf, 0)
  }
  /** Like `recvFrom`, without consuming the datagram. @since 0.1.0 */
  peekFrom(buf: Uint8Array): readonly [number, SocketAddress.SocketAddress] | WouldBlock | IoError.IoError {
    return this.#recvFrom(buf, C.MSG_PEEK)
  }
  /** Sends on a connected socket (`NotConnected` otherwise). @since 0.1.0 */
  send(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.#sentOne(this.sysSend(buf, 0))
  }
  /** Receives on any socket, without the source address. @since 0.1.0 */
  recv(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    const r = this.sysRecv(buf, 0)
    if (typeof r === "number") {
      this.traffic.datagramsReceived++
      this.traffic.bytesReceived += r
    }
    return r
  }
  /** Like `recv`, without consuming the datagram. @since 0.1.0 */
  peek(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, C.MSG_PEEK)
  }

  /**
   * Connects to `target`: `send`/`recv` then use it, and datagrams from other
   * sources are dropped. Calling it again re-connects.
   *
   * @since 0.1.0
   */
  connect(target: SocketAddress.Input): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("connect")
    const to = this.target(target, "connect")
    if (to instanceof IoError.IoError) return to
    return done(sock.connect(this.fd, to.bytes, to.length), "connect", SocketAddress.format(to.address))
  }
  /**
   * Receives up to `max` datagrams with one `recvmmsg` (when GRO is on, a
   * coalesced run is split back into its datagrams). Returns an empty array never:
   * `WouldBlock` when nothing is queued.
   *
   * @since 0.1.0
   */
  recvBatch(max?: number): ReadonlyArray<ReceivedDatagram> | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("recvmmsg")
    if (max !== undefined && !(typeof max === "number" && Number.isInteger(max) && max >= 1)) {
      return IoError.make("InvalidInput", "recvmmsg", `max is a positive integer, not ${check.show(max)}`)
    }
    return this.batch().recv(this.fd, max, this.decoder, this.traffic)
  }
  /**
   * Sends datagrams with as few `sendmmsg` calls as the batch buffers allow.
   * Returns how many were sent (the rest would block), or `WouldBlock` when none.
   *
   * @since 0.1.0
   */
  sendBatch(datagrams: ReadonlyArray<OutgoingDatagram>): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("sendmmsg")
    if (!Array.isArray(datagrams)) {
      return IoError.make("InvalidInput", "sendmmsg", `datagrams is an array of { payload, address? }, not ${check.show(datagrams)}`)
    }
    return this.batch().send(this.fd, datagrams, (t: SocketAddress.Input) => this.target(t, "sendmmsg"), this.traffic)
  }
  /**
   * Where a caller builds datagrams for `sendPacked`: the send batch's native
   * area, or (on a closed socket) a scratch buffer of the same size that is
   * never sent. Ask again for every batch: the area belongs to the socket.
   *
   * @internal
   */
  sendArea(): Uint8Array {
    if (this.fd < 0) {
      const n = this.batch().sendBytes
      if (closedArea === undefined || closedArea.length < n) closedArea = new Uint8Array(n)
      return closedArea.subarray(0, n)
    }
    return this.batch().sendArea()
  }
  /**
   * Sends `count` datagrams built in `sendArea()` with one `sendmmsg`
   * (see `Batch.sendPacked`); returns how many the socket took.
   *
   * @internal
   */
  sendPacked(
    offsets: ArrayLike<number>,
    lengths: ArrayLike<number>,
    addresses: ReadonlyArray<SocketAddress.Input | undefined>,
    count: number
  ): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("sendmmsg")
    if (count === 1) {
      // One datagram: a plain send(2)/sendto(2) of the area's bytes costs less than sendmmsg.
      const area = this.batch().sendArea()
      const view = area.subarray(offsets[0]!, offsets[0]! + lengths[0]!)
      const address = addresses[0]
      const r = address === undefined ? this.sysSend(view, 0) : this.sendTo(view, address)
      return typeof r === "number" ? 1 : r
    }
    return this.batch().sendPacked(this.fd, offsets, lengths, addresses, count, this.#sendmmsgTarget)
  }
  readonly #sendmmsgTarget = (t: SocketAddress.Input) => this.target(t, "sendmmsg")
  /** @internal */
  batch(): Batch {
    return this.#batch ??= new Batch(this.#batchOptions)
  }

  /** Closes the socket and frees its batch buffers. @since 0.1.0 */
  override close(): IoError.IoError | undefined {
    this.#batch?.free()
    this.#batch = undefined
    return super.close()
  }

  #recvFrom(buf: Uint8Array, flags: number): readonly [number, SocketAddress.SocketAddress] | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("recvfrom")
    if (!(buf instanceof Uint8Array)) return notBytes("recvfrom", buf)
    const r = sock.recvfrom(this.fd, buf, flags)
    if (!isOk(r)) return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "recvfrom")
    if (flags === 0) {
      this.traffic.datagramsReceived++
      this.traffic.bytesReceived += r
    }
    return [r, this.decoder.decode(sock.addrOut.buf, sock.addrOut.len)]
  }

  #sentOne(r: number | WouldBlock | IoError.IoError): number | WouldBlock | IoError.IoError {
    if (typeof r === "number") {
      this.traffic.datagramsSent++
      this.traffic.bytesSent += r
    }
    return r
  }}
