/**
 * Addresses on a simulated network: hosts by name or IPv4 address, ports,
 * and their `NetAddress` forms.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as NetAddress from "effect/net/NetAddress"
import * as check from "../../internal/check.ts"
import * as IoError from "../../IoError.ts"
import { hostProblem } from "../Network.ts"
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

/** The host and port of an endpoint, without the network, or the reason it is not one. */
const parse = (input: unknown): { readonly host: string; readonly port: number; readonly ip: boolean } | string => {
  const problem = `an address is "host:port", { host, port } or an InetAddress, not ${check.show(input)}`
  if (typeof input === "string") {
    const i = input.lastIndexOf(":")
    const host = i <= 0 ? "" : input.slice(0, i).replace(/^\[(.*)\]$/, "$1")
    const port = Number(input.slice(i + 1))
    return host.length === 0 || !isPort(port) ? problem : { host, port, ip: false }
  }
  if (typeof input !== "object" || input === null) return problem
  if ("_tag" in input) {
    return NetAddress.isInetAddress(input) ? { host: NetAddress.formatHost(input), port: input.port, ip: true } : problem
  }
  const o = input as { readonly host?: unknown; readonly port?: unknown }
  return typeof o.host === "string" && o.host.length > 0 && isPort(o.port) ? { host: o.host, port: o.port as number, ip: false } : problem
}

const isPort = (n: unknown): boolean => typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= 65535

const isLocal = (host: string): boolean => host === "localhost" || host.startsWith("127.") || host === "::1"

/**
 * Why `input` is not an endpoint (`"host:port"`, `{ host, port }`, an
 * `InetAddress`) with a usable host name, or `undefined`; the message names
 * `option` and the value. Checked before the network is touched.
 *
 * @internal
 */
export const endpointProblem = (option: string, input: unknown): string | undefined => {
  const p = parse(input)
  if (typeof p === "string") return `${option}: ${p}`
  const host = p.ip || isLocal(p.host) ? undefined : hostProblem(p.host)
  return host === undefined ? undefined : `${option}: ${host}`
}

/**
 * Resolves `"server:53"`, `"10.0.0.2:53"`, `"127.0.0.1:53"`, `{ host, port }` or
 * an `InetAddress`; a host name is made on the network if new. Throws a
 * `RangeError` for what `endpointProblem` refuses.
 *
 * @internal
 */
export const resolveEndpoint = (network: Network.Network, input: EndpointInput): Endpoint => {
  const p = parse(input)
  if (typeof p === "string") throw new RangeError(p)
  return { ip: p.ip ? p.host : ipOf(network, p.host), port: p.port }
}

const ipOf = (network: Network.Network, host: string): string => {
  if (host === "localhost") return "127.0.0.1"
  if (host.startsWith("127.") || host === "::1") return host
  return network.host(host).ip
}

/**
 * A bad input of a simulated socket, as the real adapters report one: an
 * `IoError` of kind `InvalidInput` (the cause of Effect's socket errors).
 *
 * @internal
 */
export const invalidInput = (syscall: string, problem: string): IoError.IoError => IoError.make("InvalidInput", syscall, problem)

/** @internal */
export const inet = (ip: string, port: number): NetAddress.InetAddress =>
  NetAddress.inetAddressFromIpStringUnsafe(ip, port)
