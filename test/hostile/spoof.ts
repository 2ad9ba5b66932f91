/**
 * A source of hostile UDP traffic from many addresses: a raw IPv4 socket for
 * IP protocol 17 that writes its own UDP headers, so every datagram can carry
 * a different source port (and, with one spoofer per address, a different
 * 127/8 source address). Needs CAP_NET_RAW (the test machines run as root).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { IoError } from "../../src/IoError.ts"
import * as RawSocket from "../../src/net/RawSocket.ts"
import { encodePacket } from "../../src/dccp/engine/Packet.ts"
import type { Prng } from "../../src/testing/Prng.ts"

export interface Spoofer {
  /** Sends `payloads[i]` from `sourceIp:sourcePorts[i]` to `127.0.0.1:port`, in sendmmsg batches. */
  readonly send: (port: number, sourcePorts: ReadonlyArray<number>, payloads: ReadonlyArray<Uint8Array>) => Effect.Effect<number>
}

/** A spoofer whose datagrams come from `sourceIp` (any 127/8 address on loopback). */
export const spoofer = (sourceIp = "127.0.0.1"): Effect.Effect<Spoofer, IoError, Scope.Scope> =>
  Effect.map(
    RawSocket.open({ family: "ipv4", protocol: 17, bind: `${sourceIp}:0`, recvBufferSize: 4096 }),
    (raw) => ({
      send: (port, sourcePorts, payloads) =>
        Effect.gen(function*() {
          let sent = 0
          const batch: Array<{ payload: Uint8Array; address: string }> = []
          const flush = function*() {
            for (let from = 0; from < batch.length;) {
              const r = raw.sendBatch(batch.slice(from))
              if (typeof r === "number") from += r
              else yield* Effect.yieldNow // socket buffer full: let the receiver drain
            }
            sent += batch.length
            batch.length = 0
          }
          for (let i = 0; i < payloads.length; i++) {
            const p = payloads[i]!
            const udp = new Uint8Array(8 + p.length)
            const s = sourcePorts[i]!
            udp[0] = s >>> 8
            udp[1] = s & 0xff
            udp[2] = port >>> 8
            udp[3] = port & 0xff
            udp[4] = udp.length >>> 8
            udp[5] = udp.length & 0xff
            // checksum 0: none (allowed over IPv4)
            udp.set(p, 8)
            batch.push({ payload: udp, address: "127.0.0.1:0" })
            if (batch.length === 256) yield* flush()
          }
          yield* flush()
          return sent
        })
    })
  )

/** A DCCP Request from `sourcePort` to `destinationPort` for `serviceCode`, as a client would send it. */
export const dccpRequest = (sourcePort: number, destinationPort: number, serviceCode: number, seq: number): Uint8Array =>
  encodePacket({ type: "Request", sourcePort, destinationPort, seq, serviceCode })

/** Random bytes of a random length from 0 to `max`. */
export const garbage = (rng: Prng, max: number): Uint8Array => {
  const out = new Uint8Array(rng.int(max + 1))
  for (let i = 0; i < out.length; i++) out[i] = rng.int(256)
  return out
}
