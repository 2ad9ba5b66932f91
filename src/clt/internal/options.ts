/**
 * The checks `Clt.connect` and `Svc.bind` run on their options before they
 * open anything: a value a caller from untyped JavaScript gets wrong (an inbox
 * of `NaN`, a `maxConnections` of -1, a timeout of `"soon"`, no framer) is a
 * `MessagingError` of kind `InvalidInput` naming the option and the value —
 * never a hang, a defect or a silent default.
 *
 * Internal module: not part of the public API.
 */
import * as Schedule from "effect/Schedule"
import * as Socket from "effect/socket/Socket"
import * as check from "../../internal/check.ts"

/** Largest `inbox` / `maxConnections`: a bound, not a figure anyone needs. */
const MAX_COUNT = 2 ** 31 - 1

const hasFunctions = (value: unknown, names: ReadonlyArray<string>): boolean =>
  typeof value === "object" && value !== null &&
  names.every((n) => typeof (value as Record<string, unknown>)[n] === "function")

const codec = (value: unknown): string | undefined =>
  hasFunctions(value, ["encodeInto", "decode"])
    ? undefined
    : `codec is a Codec (Codec.binary, Codec.json, Codec.duplex), not ${check.show(value)}`

const framer = (value: unknown): string | undefined =>
  hasFunctions(value, ["splitter", "seal", "frame"]) && typeof (value as { headerLength?: unknown }).headerLength === "number"
    ? undefined
    : `framer is a Framer (Framer.lengthPrefixed, fixedSize, delimited, make), not ${check.show(value)}`

const name = (value: unknown): string | undefined =>
  value === undefined || typeof value === "string" ? undefined : `name is a string, not ${check.show(value)}`

const optional = (label: string, value: unknown): string | undefined =>
  value === undefined || (typeof value === "object" && value !== null) ? undefined : `${label} is an object, not ${check.show(value)}`

/** The problem with an optional duration option, if any. */
const durationProblem = (label: string, value: unknown, infinite = false): string | undefined =>
  value === undefined ? undefined : asProblem(check.duration(label, value, infinite))

/** `check.duration`'s answer as a problem: its message, or `undefined` for a duration. */
const asProblem = (d: unknown): string | undefined => (typeof d === "string" ? d : undefined)

/** A protocol's durations: a heartbeat of `"soon"` or a timeout of `NaN` would quietly mean none. */
const protocol = (value: unknown): string | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "object" || value === null) return `protocol is a Protocol (Protocol.make), not ${check.show(value)}`
  const p = value as { heartbeat?: unknown; disconnectTimeout?: unknown }
  const problem = durationProblem("protocol.disconnectTimeout", p.disconnectTimeout)
  if (problem !== undefined || p.heartbeat === undefined) return problem
  if (typeof p.heartbeat !== "object" || p.heartbeat === null) return `protocol.heartbeat is an object ({ interval, make, timeout? }), not ${check.show(p.heartbeat)}`
  const hb = p.heartbeat as { interval?: unknown; make?: unknown; timeout?: unknown }
  return check.first(
    hb.interval === undefined ? "protocol.heartbeat.interval is a duration, not undefined" : durationProblem("protocol.heartbeat.interval", hb.interval, true),
    typeof hb.make === "function" ? undefined : `protocol.heartbeat.make is a function, not ${check.show(hb.make)}`,
    typeof hb.timeout === "function" ? undefined : durationProblem("protocol.heartbeat.timeout", hb.timeout, true)
  )
}

/** What `CommonOptions` of both sides share. */
const common = (o: Record<string, unknown>): string | undefined =>
  check.first(
    codec(o.codec),
    framer(o.framer),
    name(o.name),
    check.integer("inbox", o.inbox, 1, MAX_COUNT),
    protocol(o.protocol),
    optional("callback", o.callback),
    "address" in o ? check.oneOf("wait", o.wait, ["park", "spin"]) : undefined
  )

/** The problem with `Clt.connect`'s options, if any. @internal */
export const clientProblem = (options: unknown): string | undefined => {
  const o = check.requiredObject("options", options)
  if (o !== undefined) return o
  const r = options as Record<string, unknown>
  return check.first(
    "socket" in r && !Socket.isSocket(r.socket) ? `socket is an effect/socket Socket, not ${check.show(r.socket)}` : undefined,
    common(r),
    check.oneOf("receive", r.receive, ["onDemand", "background"]),
    durationProblem("timeout", r.timeout, true),
    r.retry === undefined || Schedule.isSchedule(r.retry) ? undefined : `retry is a Schedule, not ${check.show(r.retry)}`
  )
}

/** The problem with `Svc.bind`'s options, if any. @internal */
export const serviceProblem = (options: unknown): string | undefined => {
  const o = check.requiredObject("options", options)
  if (o !== undefined) return o
  const r = options as Record<string, unknown>
  return check.first(
    "server" in r && !isServer(r.server) ? `server is an effect/socket SocketServer, not ${check.show(r.server)}` : undefined,
    common(r),
    check.integer("maxConnections", r.maxConnections, 1, MAX_COUNT),
    check.integer("backlog", r.backlog, 0, MAX_COUNT)
  )
}

/** A `SocketServer` service value: it runs handlers and has an address. */
const isServer = (u: unknown): boolean => hasFunctions(u, ["run"]) && typeof (u as { address?: unknown }).address === "object"

/** `recvTimeout`'s argument, checked: `Duration.fromInputUnsafe` would throw a defect. @internal */
export const timeoutProblem = (value: unknown): string | undefined => asProblem(check.duration("recvTimeout: timeout", value, true))
