/**
 * Batched datagram I/O for `UdpSocket`: `recvmmsg`/`sendmmsg` on native slabs
 * allocated once per socket (on first use) and reused by every call, UDP GSO
 * (`UDP_SEGMENT`) for sends of equal segments and UDP GRO on receive. GSO and
 * GRO are probed once per process; where the kernel lacks them the same calls
 * fall back to plain batches.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as check from "../../internal/check.ts"
import * as IoError from "../../IoError.ts"
import { Errno, isOk, WouldBlock } from "../../sys/call.ts"
import * as C from "../../sys/constants.ts"
import { MsgSlab } from "../../sys/mmsg.ts"
import * as sock from "../../sys/socket.ts"
import * as SocketAddress from "../SocketAddress.ts"
import type { Traffic } from "./Traffic.ts"

/**
 * Sizes of the batch buffers.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchOptions {
  /** Datagrams per `recvmmsg`/`sendmmsg` call (default 64, at most 1024). */
  readonly size?: number | undefined
  /**
   * Receive buffer per datagram, in bytes (default 65536: every UDP datagram
   * fits whole). A datagram longer than this is cut to it and flagged
   * `truncated`, with its real `size`. The slots are reserved, not touched: a
   * slot costs resident memory only for the bytes that arrive in it.
   */
  readonly bufferSize?: number | undefined
  /** Bytes of payload one `sendmmsg` call can carry (default 256 KiB). */
  readonly sendBytes?: number | undefined
}

/** Largest UDP payload over IPv4 (65535 − 8 − 20). */
const MAX_DATAGRAM = 65507
/** Most datagrams per `recvmmsg`/`sendmmsg` call (the kernel's `UIO_MAXIOV`). */
const MAX_BATCH = 1024
/** Most payload bytes one `sendmmsg` call packs. */
const MAX_SEND_BYTES = 16 * 1024 * 1024
/** `UDP_MAX_SEGMENTS` in the kernel. */
const MAX_SEGMENTS = 64
/** A receive slot that holds any datagram (IPv6's largest UDP payload is 65527) and any GRO run. */
const WHOLE_SLOT = 65536

type Received = {
  readonly payload: Uint8Array
  readonly address: SocketAddress.SocketAddress
  readonly truncated: boolean
  readonly size: number
}

/** One entry of the receive array, rewritten in place by every `recv`. */
class ReceivedEntry implements Received {
  payload: Uint8Array = EMPTY
  address: SocketAddress.SocketAddress
  truncated = false
  size = 0
  constructor(address: SocketAddress.SocketAddress) {
    this.address = address
  }
}
const EMPTY = new Uint8Array(0)
type Outgoing = { readonly payload: Uint8Array; readonly address?: SocketAddress.Input | undefined }

let gsoSupported: boolean | undefined

/**
 * The first bad batch option (named `batch.size`, … after `name`), or
 * `undefined`. Sockets check it before they open: a bad size is an error,
 * never a silent default.
 *
 * @internal
 */
export const checkBatchOptions = (options: BatchOptions | undefined, name = "batch"): string | undefined =>
  check.object(name, options) ?? check.first(
    check.integer(`${name}.size`, options?.size, 1, MAX_BATCH),
    check.integer(`${name}.bufferSize`, options?.bufferSize, 1, WHOLE_SLOT),
    check.integer(`${name}.sendBytes`, options?.sendBytes, MAX_DATAGRAM, MAX_SEND_BYTES)
  )

/** @internal */
export class Batch {
  readonly size: number
  readonly sendBytes: number
  #slot: number
  #recv: MsgSlab | undefined = undefined
  #send: MsgSlab | undefined = undefined
  #gro = false
  /** The array `recv` returns and its entries, reused call after call. */
  readonly #out: Array<ReceivedEntry> = []
  readonly #entries: Array<ReceivedEntry> = []
  #sendArea: Uint8Array | undefined = undefined
  /** The address each send slot's name holds (for `sendPacked`). */
  readonly #named: Array<SocketAddress.Encoded | undefined> = []

  /** `options` are checked (`checkBatchOptions`) by the socket before it opens. */
  constructor(options?: BatchOptions) {
    this.size = options?.size ?? 64
    this.#slot = options?.bufferSize ?? WHOLE_SLOT
    this.sendBytes = options?.sendBytes ?? 256 * 1024
  }

  /** Whether GRO is on for this socket. */
  get gro(): boolean {
    return this.#gro
  }

  recv(fd: number, max: number | undefined, decoder: SocketAddress.Decoder, traffic: Traffic): ReadonlyArray<Received> | WouldBlock | IoError.IoError {
    const slot = this.#slot
    let slab = this.#recv
    if (slab === undefined) {
      slab = this.#recv = new MsgSlab(this.size, this.size * slot)
      slab.layoutRecv(slot)
    }
    const n = max === undefined ? this.size : Math.min(max, this.size)
    slab.prepareRecv(n, this.#gro ? slab.controlSpace : 0)
    const r = slab.recvmmsg(fd, n)
    if (!isOk(r)) return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "recvmmsg")
    const out = this.#out
    const base = slab.bytes.byteOffset + slab.dataOff, gro = this.#gro
    let k = 0, bytes = 0
    for (let i = 0; i < r; i++) {
      const len = slab.msgLen(i)
      bytes += len
      const address = decoder.decode(slab.bytes, slab.nameLen(i), slab.nameAt(i))
      const truncated = (slab.flags(i) & C.MSG_TRUNC) !== 0
      const seg = gro ? slab.controlInt(i, C.SOL_UDP, C.UDP_GRO) : -1
      if (seg > 0 && len > seg) {
        for (let off = 0; off < len; off += seg) {
          const n = Math.min(seg, len - off)
          this.#put(k++, slab.bytes.buffer, base + i * slot + off, n, address, false, n)
        }
      } else {
        this.#put(k++, slab.bytes.buffer, base + i * slot, Math.min(len, slot), address, truncated, len)
      }
    }
    out.length = k
    traffic.datagramsReceived += k
    traffic.bytesReceived += bytes
    return out
  }

  /**
   * Fills entry `k` of the receive array. An entry keeps its payload view when
   * the next datagram in its place has the same offset and length (a stream of
   * equal datagrams allocates nothing); the bytes behind it are the new ones.
   */
  #put(
    k: number,
    buffer: ArrayBufferLike,
    offset: number,
    length: number,
    address: SocketAddress.SocketAddress,
    truncated: boolean,
    size: number
  ): void {
    let e = this.#entries[k]
    if (e === undefined) this.#entries.push(e = new ReceivedEntry(address))
    const p = e.payload
    if (p.byteOffset !== offset || p.length !== length || p.buffer !== buffer) e.payload = new Uint8Array(buffer, offset, length)
    e.address = address
    e.truncated = truncated
    e.size = size
    this.#out[k] = e
  }

  send(
    fd: number,
    datagrams: ReadonlyArray<Outgoing>,
    target: (t: SocketAddress.Input) => SocketAddress.Encoded | IoError.IoError,
    traffic: Traffic
  ): number | WouldBlock | IoError.IoError {
    const slab = this.#send ??= new MsgSlab(this.size, this.sendBytes)
    this.#named.length = 0
    let sent = 0
    while (sent < datagrams.length) {
      // Pack as many datagrams as fit into one sendmmsg.
      let m = 0, used = 0
      while (m < this.size && sent + m < datagrams.length) {
        const d = datagrams[sent + m]
        if (typeof d !== "object" || d === null || !(d.payload instanceof Uint8Array)) {
          return sent > 0 ? sent : IoError.make(
            "InvalidInput",
            "sendmmsg",
            `datagrams[${sent + m}] is { payload: Uint8Array, address? }, not ${check.show(d)}`
          )
        }
        const len = d.payload.length
        if (len > MAX_DATAGRAM) {
          // As the kernel's sendmmsg stops at a message it refuses (EMSGSIZE): the
          // datagrams packed ahead of it are sent, and the next call reports it.
          if (m > 0) break
          return sent > 0 ? sent : IoError.make("MessageTooLarge", "sendmmsg", `a UDP datagram carries at most ${MAX_DATAGRAM} bytes, not ${len}`)
        }
        if (used + len > this.sendBytes) break
        slab.bytes.set(d.payload, slab.dataOff + used)
        slab.setIov(m, used, len)
        if (d.address === undefined) {
          slab.setHeader(m, 0, 0)
        } else {
          const to = target(d.address)
          if (to instanceof IoError.IoError) return sent > 0 ? sent : to
          slab.bytes.set(to.bytes.subarray(0, to.length), slab.nameAt(m))
          slab.setHeader(m, to.length, 0)
        }
        used += len
        m++
      }
      const r = slab.sendmmsg(fd, 0, m)
      if (!isOk(r)) {
        if (sent > 0) return sent
        if (r === WouldBlock) return WouldBlock
        // The kernel refused the first datagram: name its destination, as sendTo does.
        const first = datagrams[sent]!.address
        const to = first === undefined ? undefined : target(first)
        return IoError.fromFailure(r, "sendmmsg", to === undefined || to instanceof IoError.IoError ? undefined : SocketAddress.format(to.address))
      }
      traffic.datagramsSent += r
      if (r === m) traffic.bytesSent += used
      else for (let i = 0; i < r; i++) traffic.bytesSent += datagrams[sent + i]!.payload.length
      sent += r
      if (r < m) break
    }
    return sent
  }

  /**
   * The send slab's data area, for a caller that builds its datagrams in place
   * and sends them with `sendPacked` (no copy). `sendBytes` long; its contents
   * are the caller's until the next send of any kind on this socket.
   */
  sendArea(): Uint8Array {
    const slab = this.#send ??= new MsgSlab(this.size, this.sendBytes)
    return this.#sendArea ??= slab.bytes.subarray(slab.dataOff, slab.dataOff + this.sendBytes)
  }

  /**
   * Sends `count` (at most `size`) datagrams already built in `sendArea()`:
   * datagram i is `lengths[i]` bytes at `offsets[i]`, to `addresses[i]`
   * (`undefined`: the connected peer). One `sendmmsg`; returns how many the
   * socket took (the first ones), or `WouldBlock` when none.
   */
  sendPacked(
    fd: number,
    offsets: ArrayLike<number>,
    lengths: ArrayLike<number>,
    addresses: ReadonlyArray<SocketAddress.Input | undefined>,
    count: number,
    target: (t: SocketAddress.Input) => SocketAddress.Encoded | IoError.IoError
  ): number | WouldBlock | IoError.IoError {
    const slab = this.#send ??= new MsgSlab(this.size, this.sendBytes)
    const named = this.#named
    const n = Math.min(count, this.size)
    for (let m = 0; m < n; m++) {
      slab.setIov(m, offsets[m]!, lengths[m]!)
      const address = addresses[m]
      if (address === undefined) {
        slab.setHeader(m, 0, 0)
        named[m] = undefined
        continue
      }
      const to = target(address)
      if (to instanceof IoError.IoError) {
        if (m === 0) return to
        return this.#sendSlots(fd, slab, m)
      }
      // A slot that already holds this address keeps it (a steady flow copies none).
      if (named[m] !== to) {
        const at = slab.nameAt(m)
        for (let i = 0; i < to.length; i++) slab.bytes[at + i] = to.bytes[i]!
        named[m] = to
      }
      slab.setHeader(m, to.length, 0)
    }
    return this.#sendSlots(fd, slab, n)
  }

  #sendSlots(fd: number, slab: MsgSlab, n: number): number | WouldBlock | IoError.IoError {
    const r = slab.sendmmsg(fd, 0, n)
    if (isOk(r)) return r
    return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "sendmmsg")
  }

  sendSegments(
    fd: number,
    payload: Uint8Array,
    segment: number,
    to: SocketAddress.Encoded | IoError.IoError | undefined,
    traffic: Traffic
  ): number | WouldBlock | IoError.IoError {
    if (to instanceof IoError.IoError) return to
    if (!Number.isInteger(segment) || segment < 1 || segment > MAX_DATAGRAM) {
      return IoError.make("InvalidInput", "sendmsg", `segment size is an integer from 1 to ${MAX_DATAGRAM}, not ${check.show(segment)}`)
    }
    const total = Math.ceil(payload.length / segment)
    if (!this.#gsoAvailable(fd)) return this.#segmentsByBatch(fd, payload, segment, to, traffic)
    const slab = this.#send ??= new MsgSlab(this.size, this.sendBytes)
    this.#named.length = 0
    const perCall = Math.max(1, Math.min(MAX_SEGMENTS, Math.floor(MAX_DATAGRAM / segment)))
    let sent = 0
    while (sent < total) {
      const n = Math.min(perCall, total - sent)
      const start = sent * segment
      const chunk = payload.subarray(start, Math.min(payload.length, start + n * segment))
      slab.bytes.set(chunk, slab.dataOff)
      slab.setIov(0, 0, chunk.length)
      const ctl = n > 1 ? slab.setControlU16(0, C.SOL_UDP, C.UDP_SEGMENT, segment) : 0
      if (to === undefined) slab.setHeader(0, 0, ctl)
      else {
        slab.bytes.set(to.bytes.subarray(0, to.length), slab.nameAt(0))
        slab.setHeader(0, to.length, ctl)
      }
      const r = slab.sendmsg(fd, 0)
      if (!isOk(r)) {
        if (sent === 0 && r instanceof Errno && (r.errno === C.EIO || r.errno === C.EINVAL || r.errno === C.ENOPROTOOPT)) {
          // The route's device cannot segment (no checksum offload): stop using GSO.
          gsoSupported = false
          return this.#segmentsByBatch(fd, payload, segment, to, traffic)
        }
        if (sent > 0) return sent
        return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "sendmsg", to === undefined ? undefined : SocketAddress.format(to.address))
      }
      traffic.datagramsSent += n
      traffic.bytesSent += chunk.length
      sent += n
    }
    return sent
  }

  #segmentsByBatch(
    fd: number,
    payload: Uint8Array,
    segment: number,
    to: SocketAddress.Encoded | undefined,
    traffic: Traffic
  ): number | WouldBlock | IoError.IoError {
    const datagrams: Array<Outgoing> = []
    for (let off = 0; off < payload.length; off += segment) {
      datagrams.push(to === undefined ? { payload: payload.subarray(off, off + segment) } : { payload: payload.subarray(off, off + segment), address: to.address })
    }
    return this.send(fd, datagrams, () => to!, traffic)
  }

  #gsoAvailable(fd: number): boolean {
    if (gsoSupported === undefined) {
      const r = sock.getsockoptInt(fd, C.SOL_UDP, C.UDP_SEGMENT)
      gsoSupported = isOk(r)
    }
    return gsoSupported
  }

  setGro(fd: number, on: boolean): boolean | IoError.IoError {
    const r = sock.setsockoptInt(fd, C.SOL_UDP, C.UDP_GRO, on ? 1 : 0)
    if (!isOk(r)) {
      if (r instanceof Errno && r.errno === C.ENOPROTOOPT) return false
      return IoError.fromFailure(r, "setsockopt")
    }
    if (on !== this.#gro) {
      this.#gro = on
      // Coalesced runs need room for up to 64 KiB per slot.
      this.#recv?.free()
      this.#recv = undefined
      if (on) this.#slot = WHOLE_SLOT
    }
    return on
  }

  free(): void {
    this.#sendArea = undefined
    this.#named.length = 0
    this.#recv?.free()
    this.#send?.free()
    this.#recv = undefined
    this.#send = undefined
  }
}
