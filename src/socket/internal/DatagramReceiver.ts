/**
 * The receive side of `Udp.make` (src/socket/Udp.ts): moves datagrams from a
 * `UdpSocket`'s `recvmmsg` batches into Effect's `makeFromBackingSocket`
 * reader through its `onPacket` event, so that a reader's `pull` gets a whole
 * batch per wake-up, not one datagram (issue 12).
 *
 * Effect's reader wakes a parked `pull` with the one datagram whose `onPacket`
 * found it parked, and runs the pulling fiber inside that call; the fiber pulls
 * again before the next `onPacket`, finds the queue empty and parks, so a batch
 * of 32 became 32 wake-ups. Here every batch is first copied into a FIFO
 * (`pending`), then handed over one `onPacket` at a time; a pull made while the
 * FIFO holds datagrams (`beforePull`: the woken fiber pulling again) hands the
 * rest of it over before Effect's pull looks at its queue, and then takes one
 * more batch from the socket when the socket is readable — so that pull finds
 * them all queued and returns them as one array. Order is kept: every datagram
 * goes through the one FIFO, taken by index, re-entrant calls included.
 *
 * The background receive fiber still drains the socket whenever it is readable,
 * so a slow consumer's datagrams meet Effect's receive buffer (its capacity,
 * overflow strategy and `dropped` count) as before; a pull only adds to what
 * that fiber does, at most one `recvmmsg` per pull and only while the socket is
 * known readable (no `EAGAIN` syscall for a pull that will park).
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as NetAddress from "effect/net/NetAddress"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import { IoError, make as ioError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type * as UdpSocket from "../../net/UdpSocket.ts"
import { READ, type ScheduledIo } from "../../reactor/internal/driver.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import * as errors from "./errors.ts"

/** What the receiver reports besides datagrams: counts, and read errors to classify. @internal */
export interface ReceiverHooks {
  /** A datagram longer than the slot was dropped (`maxDatagramSize`). */
  readonly oversize: (d: UdpSocket.ReceivedDatagram) => void
  /** A datagram was handed to the reader. */
  readonly received: () => void
  /** A read failed (not `Closed`): reported to the reader by the caller's policy. */
  readonly readFailed: (e: IoError) => void
}

/** Copies one reader's datagrams from its socket into Effect's reader events, batch by batch. @internal */
export class DatagramReceiver {
  readonly #udp: UdpSocket.UdpSocket
  readonly #io: ScheduledIo | undefined
  readonly #events: DatagramSocket.BackingEvents
  readonly #hooks: ReceiverHooks
  /** The FIFO: payload, host and port of each datagram not yet handed over, from `#head` on. */
  readonly #payloads: Array<Uint8Array> = []
  readonly #hosts: Array<string> = []
  readonly #ports: Array<number> = []
  #head = 0
  #lastAddress: SocketAddress.SocketAddress | undefined = undefined
  #lastBacking: DatagramSocket.BackingAddress = { host: "", port: 0 }
  #closed = false

  constructor(udp: UdpSocket.UdpSocket, io: ScheduledIo | undefined, events: DatagramSocket.BackingEvents, hooks: ReceiverHooks) {
    this.#udp = udp
    this.#io = io
    this.#events = events
    this.#hooks = hooks
  }

  /**
   * The background fiber's read (under the registration's `readIo`): one batch
   * into the FIFO, then handed over. The datagrams taken, `WouldBlock`, or the
   * socket's error.
   */
  receive(): number | WouldBlock | IoError {
    const r = this.#take()
    if (typeof r === "number") this.#handOver()
    return r
  }

  /**
   * Called by each `pull` before Effect's: hands over what the FIFO holds, then
   * (the socket known readable) one more batch, so the pull finds them queued.
   */
  beforePull(): void {
    if (this.#closed) return
    this.#handOver()
    const io = this.#io
    if (io === undefined || io.readyRead === 0 || io.closed !== undefined) return
    const r = this.#take()
    if (r === WouldBlock) io.clear(READ)
    else if (r instanceof IoError) {
      if (r.kind !== "Closed") this.#hooks.readFailed(r)
    } else this.#handOver()
  }

  /** The reader is closing: nothing more is handed over. */
  close(): void {
    this.#closed = true
    this.#payloads.length = this.#hosts.length = this.#ports.length = this.#head = 0
  }

  /** One `recvmmsg` batch, each datagram copied into the FIFO. */
  #take(): number | WouldBlock | IoError {
    const r = this.#udp.recvBatch()
    if (r === WouldBlock || r instanceof IoError) return r
    if (this.#head === this.#payloads.length) this.#payloads.length = this.#hosts.length = this.#ports.length = this.#head = 0
    for (let i = 0; i < r.length; i++) {
      const d = r[i]!
      if (d.truncated) {
        this.#hooks.oversize(d)
        continue
      }
      if (d.address !== this.#lastAddress) {
        this.#lastAddress = d.address
        this.#lastBacking = backingAddress(d.address)
      }
      this.#payloads.push(d.payload.slice())
      this.#hosts.push(this.#lastBacking.host)
      this.#ports.push(this.#lastBacking.port)
    }
    return r.length
  }

  /** Hands the FIFO's datagrams to the reader in order (re-entrant: a woken pull may hand over the rest). */
  #handOver(): void {
    const payloads = this.#payloads, events = this.#events
    while (this.#head < payloads.length && !this.#closed) {
      const i = this.#head++
      this.#hooks.received()
      events.onPacket(payloads[i]!, this.#hosts[i]!, this.#ports[i]!)
    }
  }
}

/** Effect's native address of a socket address. @internal */
export const backingAddress = (a: SocketAddress.SocketAddress): DatagramSocket.BackingAddress =>
  SocketAddress.isInet(a) ? { host: NetAddress.formatHost(a), port: a.port } : { host: SocketAddress.format(a), port: 0 }

/** The error for a datagram dropped whole because it exceeds `maxDatagramSize`. @internal */
export const oversizeError = (d: UdpSocket.ReceivedDatagram, slot: number | undefined): DatagramSocket.DatagramSocketError =>
  errors.datagramReadError(ioError(
    "MessageTooLarge",
    "recvmmsg",
    `a ${d.size}-byte datagram exceeds maxDatagramSize ${slot}; dropped`,
    SocketAddress.format(d.address)
  ))
