/**
 * Addresses on a simulated network: hosts by name or IPv4 address, ports,
 * and their `NetAddress` forms.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as NetAddress from "effect/net/NetAddress"
import type * as Network from "../Network.ts"

/** @internal */
export interface Endpoint {
  readonly ip: string
  readonly port: number
}

/**
 * A SimNet endpoint: `"host:port"`, an `InetAddress`, or `{ host, port }`.
 *
 * @since 0.1.0
 * @category models
 */
export type EndpointInput = string | NetAddress.InetAddress | { readonly host: string; readonly port: number }

/**
 * Resolves `"server:53"`, `"10.0.0.2:53"`, `"127.0.0.1:53"`, `{ host, port }` or
 * an `InetAddress`; a host name is made on the network if new.
 *
 * @internal
 */
export const resolveEndpoint = (network: Network.Network, input: EndpointInput): Endpoint => {
  if (typeof input === "string") {
    const i = input.lastIndexOf(":")
    const host = i <= 0 ? "" : input.slice(0, i).replace(/^\[(.*)\]$/, "$1")
    const port = Number(input.slice(i + 1))
    if (host.length === 0 || !Number.isSafeInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`an address is "host:port", not ${JSON.stringify(input)}`)
    }
    return { ip: ipOf(network, host), port }
  }
  if ("_tag" in input) return { ip: NetAddress.formatHost(input), port: input.port }
  return { ip: ipOf(network, input.host), port: input.port }
}

const ipOf = (network: Network.Network, host: string): string => {
  if (host === "localhost") return "127.0.0.1"
  if (host.startsWith("127.") || host === "::1") return host
  return network.host(host).ip
}

/** @internal */
export const inet = (ip: string, port: number): NetAddress.InetAddress =>
  NetAddress.inetAddressFromIpStringUnsafe(ip, port)
