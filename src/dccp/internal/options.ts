/**
 * The checks every `Dccp.connect` / `Dccp.listen` option passes before anything
 * is opened: a bad value is a `DccpError` of kind `InvalidInput` naming the
 * option and the value, never a defect, a silent default or an unbounded queue.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as NetAddress from "effect/net/NetAddress"
import * as Result from "effect/Result"
import * as check from "../../internal/check.ts"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type { CommonOptions, ConnectOptions, ListenOptions } from "../Dccp.ts"
import * as DccpError from "../DccpError.ts"
import { defaultConfig } from "../engine/Config.ts"

/** The options' durations and sizes, in the units the driver uses. @internal */
export interface Resolved {
  readonly timewaitMs: number
  readonly closeTimeoutMs: number
  readonly receiveQueue: number
}

/** Receive queues and backlogs hold at most this many datagrams or connections. */
const MAX_QUEUE = 1 << 20

const invalid = (problem: string): DccpError.DccpError => DccpError.make("InvalidInput", problem)

/** A CCID (2 or 3) or a preference list of distinct ones. */
const ccid = (name: string, value: unknown): string | undefined => {
  if (value === undefined || value === 2 || value === 3) return undefined
  const list = Array.isArray(value) && value.length >= 1 && value.length <= 2 && value.every((c) => c === 2 || c === 3) &&
    new Set(value).size === value.length
  return list ? undefined : `${name} is 2, 3 or a preference list of them such as [3, 2], not ${check.show(value)}`
}

const common = (o: CommonOptions): Resolved | DccpError.DccpError => {
  if (typeof o !== "object" || o === null) return invalid(`the options are an object, not ${check.show(o)}`)
  const problem = check.first(
    check.oneOf("transport", o.transport, ["udp", "raw", "kernel"]),
    ccid("ccid", o.ccid),
    ccid("txCcid", o.txCcid),
    ccid("rxCcid", o.rxCcid),
    check.oneOf("queuePolicy", o.queuePolicy, ["simple", "prio"]),
    check.integer("receiveQueue", o.receiveQueue, 1, MAX_QUEUE),
    check.integer("kernelReceiveBufferSize", o.kernelReceiveBufferSize, 1, 2 ** 31 - 1),
    check.integer("kernelSendBufferSize", o.kernelSendBufferSize, 1, 2 ** 31 - 1),
    check.integer("pathMtu", o.pathMtu, 576, 65535),
    check.integer("txQueueLength", o.txQueueLength, 1, 65536),
    check.integer("sendChecksumCoverage", o.sendChecksumCoverage, 0, 15),
    check.integer("minimumChecksumCoverage", o.minimumChecksumCoverage, 0, 15),
    check.func("random", o.random)
  )
  if (problem !== undefined) return invalid(problem)
  const timewaitMs = check.millis("timewait", o.timewait, defaultConfig.timewaitMs)
  if (typeof timewaitMs === "string") return invalid(timewaitMs)
  const closeTimeoutMs = check.millis("closeTimeout", o.closeTimeout, 3000)
  if (typeof closeTimeoutMs === "string") return invalid(closeTimeoutMs)
  return { timewaitMs, closeTimeoutMs, receiveQueue: o.receiveQueue ?? 1024 }
}

/** An IP address argument (or one not given), as `what` (`connect`, `bind`) names it. */
const ipAddress = (what: string, input: unknown): string | undefined => {
  if (input === undefined && what === "bind") return undefined
  // A host name is resolved later (Dccp.connect / listen), its addresses tried in order.
  const a = SocketAddress.classify(input as SocketAddress.Input, what)
  if (a instanceof SocketAddress.HostName || (!(a instanceof IoError) && SocketAddress.isInet(a))) return undefined
  // A raw transport's `bind` may be an IP alone (its port is ignored).
  const ip = what === "bind" && typeof input === "string" ? NetAddress.ipFromString(input.replace(/^\[(.*)\]$/, "$1")) : undefined
  return ip !== undefined && Result.isSuccess(ip) ? undefined : `${what}: ${check.show(input)} is not an IPv4 or IPv6 address`
}

/** `connect`'s options, checked. @internal */
export const connectOptions = (o: ConnectOptions): (Resolved & { readonly connectTimeoutMs: number | undefined }) | DccpError.DccpError => {
  const resolved = common(o)
  if (resolved instanceof DccpError.DccpError) return resolved
  const problem = check.first(check.integer("dccpPort", o.dccpPort, 1, 65535), ipAddress("connect", o.address), ipAddress("bind", o.bind))
  if (problem !== undefined) return invalid(problem)
  const connectTimeoutMs = o.connectTimeout === undefined ? undefined : check.millis("connectTimeout", o.connectTimeout, 0)
  if (typeof connectTimeoutMs === "string") return invalid(connectTimeoutMs)
  return { ...resolved, connectTimeoutMs }
}

/** `listen`'s options, checked. @internal */
export const listenOptions = (o: ListenOptions): (Resolved & { readonly backlog: number }) | DccpError.DccpError => {
  const resolved = common(o)
  if (resolved instanceof DccpError.DccpError) return resolved
  const problem = check.first(
    check.integer("dccpPort", o.dccpPort, 1, 65535),
    check.integer("backlog", o.backlog, 1, MAX_QUEUE),
    check.boolean("serverTimewait", o.serverTimewait),
    check.boolean("resetUnknown", o.resetUnknown),
    Array.isArray(o.serviceCodes) && o.serviceCodes.length >= 1 && o.serviceCodes.length <= 32
      ? undefined
      : `serviceCodes is an array of 1 to 32 service codes, not ${check.show(o.serviceCodes)}`,
    ipAddress("bind", o.address)
  )
  if (problem !== undefined) return invalid(problem)
  return { ...resolved, backlog: o.backlog ?? 64 }
}
