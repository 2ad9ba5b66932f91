/**
 * Effect's `DatagramSocket` writer, checked: a datagram from an untyped caller
 * whose payload is not bytes or text, or whose address is not one, fails the
 * write with `InvalidInput` instead of dying in Effect's core. Shared by
 * `Udp.make` and the test kit's `MemoryDatagram`.
 *
 * Internal module: not part of the public API.
 */
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import * as check from "../../internal/check.ts"
import * as IoError from "../../IoError.ts"
import * as errors from "./errors.ts"

/**
 * Why an outgoing datagram is not one (untyped callers): its payload is not
 * bytes or text, or its address not an `InetAddress` or a received datagram —
 * Effect's core would fail on it with a defect. `undefined` when it is fine.
 */
const outgoingProblem = (d: unknown, name: string): string | undefined => {
  if (typeof d !== "object" || d === null) return `${name} is { payload, address? }, not ${check.show(d)}`
  const o = d as { readonly payload?: unknown; readonly address?: unknown }
  if (!(o.payload instanceof Uint8Array || typeof o.payload === "string")) {
    return `${name}.payload is a Uint8Array or a string, not ${check.show(o.payload)}`
  }
  const target = "host" in o ? o : o.address
  if (target === undefined || NetAddress.isInetAddress(target)) return undefined
  const native = target as { readonly host?: unknown; readonly port?: unknown }
  return typeof native === "object" && native !== null && typeof native.host === "string" && typeof native.port === "number"
    ? undefined
    : `${name}.address is a NetAddress InetAddress or a received Datagram, not ${check.show(o.address)}`
}

/** Effect's writer, refusing malformed datagrams with a write error instead of a defect. @internal */
export const checkedWriter = (w: DatagramSocket.Writer): DatagramSocket.Writer => {
  const refuse = (problem: string) => Effect.fail(errors.datagramWriteError(IoError.make("InvalidInput", "sendto", problem)))
  return {
    write: (d) => {
      const bad = outgoingProblem(d, "datagram")
      return bad === undefined ? w.write(d) : refuse(bad)
    },
    writeAll: (ds) => {
      if (!Array.isArray(ds)) return refuse(`datagrams is a non-empty array, not ${check.show(ds)}`)
      for (let i = 0; i < ds.length; i++) {
        const bad = outgoingProblem(ds[i], "datagram")
        if (bad !== undefined) return refuse(`${bad} (datagrams[${i}])`)
      }
      return w.writeAll(ds)
    }
  }
}
