/**
 * One `sendBatch` loop for the reliable UDP sockets (`UdpLike`'s fast path
 * and the endpoint server's transport).
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { IoError } from "../../IoError.ts"
import type * as UdpSocket from "../../net/UdpSocket.ts"
import { WouldBlock } from "../../WouldBlock.ts"

/**
 * Sends `datagrams[0, n)`. `sendBatch` stops at a datagram the kernel refuses
 * and reports why at the next call, so after a short count this goes on from
 * the first datagram not sent: one larger than the interface carries (a path
 * MTU probe) is skipped — lost, as the path would lose it — and the rest still
 * go; when the socket would block, the rest are dropped. Returns how many were
 * dropped, or the error that stopped it (the caller decides what it means).
 *
 * @internal
 */
export const sendAll = (
  socket: UdpSocket.UdpSocket,
  datagrams: Array<UdpSocket.OutgoingDatagram>,
  n: number
): number | IoError => {
  let from = 0, dropped = 0
  while (from < n) {
    const batch = from === 0 && n === datagrams.length ? datagrams : datagrams.slice(from, n)
    const r = socket.sendBatch(batch)
    if (typeof r === "number") {
      from += r
    } else if (r === WouldBlock) {
      return dropped + n - from
    } else if (r.kind === "MessageTooLarge") {
      dropped++
      from++
    } else {
      return r
    }
  }
  return dropped
}
