/**
 * The receive side of `Udp.make` (src/socket/Udp.ts): the reader's `pull`, its
 * receive buffer and its waiting fibers, fed from a `UdpSocket`'s `recvmmsg`
 * batches (issue 12).
 *
 * Effect's `makeFromBackingSocket` takes one datagram per `onPacket` call: a
 * record and a queue push each, a wake-up that hands a parked `pull` one
 * datagram, and on this side a FIFO to turn batches into calls. This module
 * keeps `makeFromBackingSocket` for everything else (reader exclusivity and
 * acquisition, the writer, `joinMulticast`, the bound address) and serves
 * `pull` itself, with the same contract:
 *
 * - a `pull` returns what the receive buffer holds, in order; with nothing
 *   buffered and the socket known readable it takes one batch from the socket
 *   itself (`recvmmsg`, each payload copied by `./payloadPool.ts`, since the
 *   user keeps it), so a busy reader's datagrams go from the kernel to the
 *   caller with no queue between;
 *   with nothing to take it waits, and the background receive fiber hands the
 *   next batch to the first waiting `pull` whole, in the order pulls started
 *   waiting;
 * - a reader that does not pull: the background fiber drains the socket into
 *   the buffer, which keeps `receiveBuffer.capacity` datagrams and counts the
 *   rest in `dropped` (`"dropping"`: the newest are dropped; `"sliding"`: the
 *   oldest are overwritten), as Effect's. A batch is never longer than the
 *   capacity, so no `pull` returns more than it;
 * - a read error is sticky: `pull` returns what is buffered, then fails with it
 *   every time (Effect's state is told too, through `onReadError`); closing the
 *   reader fails every waiting and later `pull` with a closed error;
 * - an interrupted waiting `pull` leaves the queue of waiters at once, so no
 *   batch is handed to it.
 *
 * A received datagram's `address` is the source address decoded from the
 * kernel's (Effect's `InetAddress`, shared by the datagrams of one source in
 * a row); `host` and `port` are the native form Effect's writer takes when the
 * datagram is used as a destination.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import { closed, IoError, make as ioError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type * as UdpSocket from "../../net/UdpSocket.ts"
import { READ, type ScheduledIo } from "../../reactor/internal/driver.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import * as errors from "./errors.ts"
import { copyOut } from "./payloadPool.ts"

/** What the receiver reports besides datagrams: counts, and read errors to classify. @internal */
export interface ReceiverHooks {
  /** A datagram longer than the slot was dropped (`maxDatagramSize`). */
  readonly oversize: (d: UdpSocket.ReceivedDatagram) => void
  /** `n` datagrams were taken from the socket for the reader. */
  readonly received: (n: number) => void
  /** A read failed (not `Closed`): the caller's policy calls `fail` or reports it. */
  readonly readFailed: (e: IoError) => void
}

/** How the receive buffer behaves. @internal */
export interface ReceiveBuffer {
  readonly capacity: number
  readonly sliding: boolean
}

/**
 * A received datagram: its own copy of the payload, the decoded source
 * address, and that address's native form (`host`, `port`) for Effect's
 * writer. @internal
 */
export class ReceivedDatagram implements DatagramSocket.Datagram {
  readonly payload: Uint8Array
  readonly address: NetAddress.InetAddress
  readonly host: string
  readonly port: number
  constructor(payload: Uint8Array, address: NetAddress.InetAddress, native: DatagramSocket.BackingAddress) {
    this.payload = payload
    this.address = address
    this.host = native.host
    this.port = native.port
  }
}

type Batch = NonEmptyReadonlyArray<DatagramSocket.Datagram>
type Resume = (effect: Effect.Effect<Batch, DatagramSocket.DatagramSocketError>) => void

/** Batches a pull tries to take from the socket before it waits (only a batch that yields nothing tries again). */
const DIRECT_TRIES = 4

const closedError = () => new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketClosedError() })

/** One reader's receive buffer and waiting pulls, fed from its socket batch by batch. @internal */
export class DatagramReceiver {
  readonly #udp: UdpSocket.UdpSocket
  readonly #io: ScheduledIo | undefined
  readonly #events: DatagramSocket.BackingEvents
  readonly #hooks: ReceiverHooks
  readonly #capacity: number
  readonly #sliding: boolean
  /** The most one `recvmmsg` takes: the batch size, and never more than the buffer's capacity. */
  readonly #max: number
  /** Datagrams received while no pull waited; a ring from `#head` once a sliding buffer is full. */
  #buffer: Array<ReceivedDatagram> = []
  #head = 0
  #dropped = 0
  /** The pulls waiting, in the order they started. */
  readonly #waiters: Array<Resume> = []
  /** Sticky: the read error, or the closed error once the reader closed. */
  #failure: Effect.Effect<never, DatagramSocket.DatagramSocketError> | undefined = undefined
  #lastAddress: SocketAddress.SocketAddress | undefined = undefined
  #lastNative: DatagramSocket.BackingAddress = { host: "", port: 0 }

  /** The reader's `pull`. */
  readonly pull: Effect.Effect<Batch, DatagramSocket.DatagramSocketError> = Effect.suspend(() => this.#pullNow())
  readonly #park: Effect.Effect<Batch, DatagramSocket.DatagramSocketError> = Effect.callback((resume) => {
    this.#waiters.push(resume)
    return Effect.sync(() => {
      const i = this.#waiters.indexOf(resume)
      if (i !== -1) this.#waiters.splice(i, 1)
    })
  })

  constructor(
    udp: UdpSocket.UdpSocket,
    io: ScheduledIo | undefined,
    events: DatagramSocket.BackingEvents,
    hooks: ReceiverHooks,
    buffer: ReceiveBuffer
  ) {
    this.#udp = udp
    this.#io = io
    this.#events = events
    this.#hooks = hooks
    this.#capacity = buffer.capacity
    this.#sliding = buffer.sliding
    this.#max = Math.min(udp.batch().size, buffer.capacity)
  }

  /** Datagrams the receive buffer dropped (full). */
  dropped(): number {
    return this.#dropped
  }

  /**
   * The background fiber's read (under the registration's `readIo`): one batch,
   * handed to the first waiting pull or buffered. The datagrams taken,
   * `WouldBlock`, or the socket's error.
   */
  receive(): number | WouldBlock | IoError {
    // After a read error nothing more is delivered (as Effect's reader): the background fiber ends.
    if (this.#failure !== undefined) return closed("recvmmsg")
    const r = this.#take()
    if (r === WouldBlock || r instanceof IoError) return r
    if (r.length === 0) return 0
    // A pull waits only while the buffer is empty, so the batch is the oldest there is.
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) waiter(Effect.succeed(r as unknown as Batch))
    else for (let i = 0; i < r.length; i++) this.#push(r[i]!)
    return r.length
  }

  /** A read error ends the reader: sticky for every later pull, told to Effect's reader state too. */
  fail(error: DatagramSocket.DatagramSocketError): void {
    if (this.#failure !== undefined) return
    this.#failure = Effect.fail(error)
    this.#events.onReadError(error)
    this.#failWaiters()
  }

  /** The reader is closing: waiting and later pulls fail with a closed error. */
  close(): void {
    this.#buffer = []
    this.#head = 0
    this.#failure = Effect.fail(closedError())
    this.#failWaiters()
  }

  #pullNow(): Effect.Effect<Batch, DatagramSocket.DatagramSocketError> {
    if (this.#buffer.length !== 0) return Effect.succeed(this.#takeBuffer())
    if (this.#failure !== undefined) return this.#failure
    const io = this.#io
    // A batch of only oversize datagrams, or an ICMP report (`onError`), takes nothing: read on, a few times.
    for (let tries = 0; tries < DIRECT_TRIES; tries++) {
      if (io === undefined || io.readyRead === 0 || io.closed !== undefined || this.#waiters.length !== 0) break
      const r = this.#take()
      if (r === WouldBlock) io.clear(READ)
      else if (r instanceof IoError) {
        if (r.kind === "Closed") break
        this.#hooks.readFailed(r)
        if (this.#failure !== undefined) return this.#failure
      } else if (r.length !== 0) return Effect.succeed(r as unknown as Batch)
    }
    return this.#park
  }

  /** One `recvmmsg` batch, each datagram copied out of the batch buffer. */
  #take(): Array<ReceivedDatagram> | WouldBlock | IoError {
    const r = this.#udp.recvBatch(this.#max)
    if (r === WouldBlock || r instanceof IoError) return r
    const out: Array<ReceivedDatagram> = []
    for (let i = 0; i < r.length; i++) {
      const d = r[i]!
      if (d.truncated) {
        this.#hooks.oversize(d)
        continue
      }
      if (d.address !== this.#lastAddress) {
        this.#lastAddress = d.address
        this.#lastNative = backingAddress(d.address)
      }
      out.push(new ReceivedDatagram(copyOut(d.payload), d.address as NetAddress.InetAddress, this.#lastNative))
    }
    if (out.length !== 0) this.#hooks.received(out.length)
    return out
  }

  /** Buffers one datagram, by the overflow strategy when the buffer is full. */
  #push(d: ReceivedDatagram): void {
    const buffer = this.#buffer
    if (buffer.length < this.#capacity) {
      buffer.push(d)
      return
    }
    this.#dropped++
    if (!this.#sliding) return
    const head = this.#head
    buffer[head] = d
    this.#head = head + 1 === buffer.length ? 0 : head + 1
  }

  /** Everything buffered, oldest first; the buffer is left empty. */
  #takeBuffer(): Batch {
    const buffer = this.#buffer, head = this.#head
    this.#buffer = []
    if (head === 0) return buffer as unknown as Batch
    this.#head = 0
    return [...buffer.slice(head), ...buffer.slice(0, head)] as unknown as Batch
  }

  #failWaiters(): void {
    const failure = this.#failure!
    for (const waiter of this.#waiters.splice(0)) waiter(failure)
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
