/**
 * Batched datagram I/O over native memory: `recvmmsg`/`sendmmsg` and `sendmsg`
 * with ancillary data (UDP GSO), on message headers whose pointers are written
 * once. The kernel reads and writes the slab directly; JavaScript sees it through
 * an `ArrayBuffer` view of the same memory, so nothing is marshalled per call.
 *
 * Layout of a slab of `count` slots:
 * `[mmsghdr × count][iovec × count][sockaddr_storage × count][control × count][data]`
 * For receiving, `data` is `count` fixed slots of `slotSize` bytes. For sending,
 * `data` is one area that payloads are packed into, back to back.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { type Errno, failure, type WouldBlock } from "./call.ts"
import * as C from "./constants.ts"
import { cmsgLen, cmsgSpace, layout } from "./layout.ts"
import { libc, type NativePointer } from "./libc.ts"
import { SOCKADDR_MAX } from "./sockaddr.ts"

const CONTROL = cmsgSpace(4) // one int: UDP_GRO segment size (and UDP_SEGMENT's u16)

/** @internal */
export class MsgSlab {
  readonly count: number
  readonly dataSize: number
  readonly #ptr: NativePointer
  readonly #base: number
  readonly bytes: Uint8Array
  readonly view: DataView
  readonly #iovOff: number
  readonly #nameOff: number
  readonly #ctlOff: number
  readonly dataOff: number
  #freed = false

  constructor(count: number, dataSize: number) {
    this.count = count
    this.dataSize = dataSize
    const M = layout.mmsghdr.size, IOV = layout.iovec.size
    this.#iovOff = count * M
    this.#nameOff = this.#iovOff + count * IOV
    this.#ctlOff = this.#nameOff + count * SOCKADDR_MAX
    this.dataOff = this.#ctlOff + count * CONTROL
    const total = this.dataOff + dataSize
    const c = libc()
    this.#ptr = c.nativeAlloc(total)
    this.#base = Number(c.nativeAddress(this.#ptr))
    this.bytes = new Uint8Array(c.nativeView(this.#ptr, total))
    // Only the headers need zeroes. The data area is left untouched, so a large
    // receive slab (64 KiB slots, for whole datagrams) costs resident memory only
    // for the bytes the kernel actually writes.
    this.bytes.fill(0, 0, this.dataOff)
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, total)
    const H = layout.msghdr
    for (let i = 0; i < count; i++) {
      const h = i * M
      this.#setPtr(h + H.name, this.#nameOff + i * SOCKADDR_MAX)
      this.#setPtr(h + H.iov, this.#iovOff + i * IOV)
      this.#setU64(h + H.iovlen, 1)
      this.#setPtr(h + H.control, this.#ctlOff + i * CONTROL)
    }
  }

  /** Writes a 64-bit little-endian value below 2^53 without allocating a BigInt. */
  #setU64(at: number, value: number): void {
    this.view.setUint32(at, value >>> 0, true)
    this.view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true)
  }

  #setPtr(at: number, offset: number): void {
    this.#setU64(at, this.#base + offset)
  }

  /** Points slot `i`'s single iovec at `len` bytes at `dataOffset` (relative to the data area). */
  setIov(i: number, dataOffset: number, len: number): void {
    const at = this.#iovOff + i * layout.iovec.size
    this.#setPtr(at + layout.iovec.base, this.dataOff + dataOffset)
    this.#setU64(at + layout.iovec.len, len)
  }

  /** Sets slot `i`'s address length (0: no address) and control length, and clears its flags. */
  setHeader(i: number, nameLen: number, controlLen: number): void {
    const h = i * layout.mmsghdr.size, H = layout.msghdr
    this.view.setUint32(h + H.namelen, nameLen, true)
    this.#setU64(h + H.controllen, controlLen)
    this.view.setInt32(h + H.flags, 0, true)
    // msg_name must be NULL when there is no address on a send.
    if (nameLen === 0) this.#setU64(h + H.name, 0)
    else this.#setPtr(h + H.name, this.#nameOff + i * SOCKADDR_MAX)
  }

  /**
   * Points every slot's iovec at its own `slotSize` bytes of the data area, once
   * for a receive slab; `prepareRecv` then only resets what the kernel changes.
   */
  layoutRecv(slotSize: number): void {
    for (let i = 0; i < this.count; i++) {
      this.setIov(i, i * slotSize, slotSize)
      this.#setPtr(i * layout.mmsghdr.size + layout.msghdr.name, this.#nameOff + i * SOCKADDR_MAX)
    }
  }

  /** Resets the fields `recvmmsg` overwrote in slots 0..n-1. */
  prepareRecv(n: number, controlLen: number): void {
    const M = layout.mmsghdr.size, H = layout.msghdr, v = this.view
    for (let i = 0; i < n; i++) {
      const h = i * M
      v.setUint32(h + H.namelen, SOCKADDR_MAX, true)
      v.setUint32(h + H.controllen, controlLen, true)
      v.setUint32(h + H.controllen + 4, 0, true)
      v.setInt32(h + H.flags, 0, true)
    }
  }

  /** Byte offset in `bytes` of slot `i`'s address. */
  nameAt(i: number): number {
    return this.#nameOff + i * SOCKADDR_MAX
  }
  nameLen(i: number): number {
    return this.view.getUint32(i * layout.mmsghdr.size + layout.msghdr.namelen, true)
  }
  /** `msg_len` of slot `i` after a call. */
  msgLen(i: number): number {
    return this.view.getUint32(i * layout.mmsghdr.size + layout.mmsghdr.len, true)
  }
  flags(i: number): number {
    return this.view.getInt32(i * layout.mmsghdr.size + layout.msghdr.flags, true)
  }
  controlLen(i: number): number {
    // Control lengths are small: the low half is the value.
    return this.view.getUint32(i * layout.mmsghdr.size + layout.msghdr.controllen, true)
  }

  /** Writes one `cmsghdr` with an int-sized payload into slot `i`'s control area; returns its space. */
  setControlU16(i: number, level: number, type: number, value: number): number {
    const at = this.#ctlOff + i * CONTROL, H = layout.cmsghdr
    this.bytes.fill(0, at, at + CONTROL)
    this.#setU64(at + H.len, cmsgLen(2))
    this.view.setInt32(at + H.level, level, true)
    this.view.setInt32(at + H.type, type, true)
    this.view.setUint16(at + H.size, value, true)
    return cmsgSpace(2)
  }

  /** The int payload of the first control message of `level`/`type` in slot `i`, or -1. */
  controlInt(i: number, level: number, type: number): number {
    const len = this.controlLen(i)
    const at = this.#ctlOff + i * CONTROL, H = layout.cmsghdr
    if (len < cmsgLen(4)) return -1
    if (this.view.getInt32(at + H.level, true) !== level || this.view.getInt32(at + H.type, true) !== type) return -1
    return this.view.getInt32(at + H.size, true)
  }

  /** Control space for one int. */
  get controlSpace(): number {
    return CONTROL
  }

  /**
   * `recvmmsg(fd, slots 0..n-1)` with `MSG_TRUNC`: a datagram longer than its
   * slot is cut to the slot and flagged, and its `msgLen` is its real length.
   */
  recvmmsg(fd: number, n: number): number | WouldBlock | Errno {
    const c = libc()
    for (;;) {
      const r = c.recvmmsg(fd, this.#base, n, C.MSG_TRUNC)
      if (r >= 0) return r
      const f = failure("recvmmsg")
      if (f !== undefined) return f
    }
  }

  /** `sendmmsg(fd, slots from..from+n-1)`. */
  sendmmsg(fd: number, from: number, n: number): number | WouldBlock | Errno {
    const c = libc()
    for (;;) {
      const r = c.sendmmsg(fd, this.#base + from * layout.mmsghdr.size, n, C.MSG_NOSIGNAL)
      if (r >= 0) return r
      const f = failure("sendmmsg")
      if (f !== undefined) return f
    }
  }

  /** `sendmsg(fd, slot i's header)`. */
  sendmsg(fd: number, i: number): number | WouldBlock | Errno {
    const c = libc()
    for (;;) {
      const r = c.sendmsgAt(fd, this.#base + i * layout.mmsghdr.size, C.MSG_NOSIGNAL)
      if (r >= 0) return r
      const f = failure("sendmsg")
      if (f !== undefined) return f
    }
  }

  /** Releases the native memory; the slab must not be used afterwards. */
  free(): void {
    if (this.#freed) return
    this.#freed = true
    libc().nativeFree(this.#ptr)
  }
}
