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

/** What `CommonOptions` of both sides share. */
const common = (o: Record<string, unknown>): string | undefined =>
  check.first(
    codec(o.codec),
    framer(o.framer),
    name(o.name),
    check.integer("inbox", o.inbox, 1, MAX_COUNT),
    optional("protocol", o.protocol),
    optional("callback", o.callback),
    "address" in o ? check.oneOf("wait", o.wait, ["park", "spin"]) : undefined
  )

/** The problem with `Clt.connect`'s options, if any. @internal */
export const clientProblem = (options: unknown): string | undefined => {
  const o = check.requiredObject("options", options)
  if (o !== undefined) return o
  const r = options as Record<string, unknown>
  return check.first(
    common(r),
    check.oneOf("receive", r.receive, ["onDemand", "background"]),
    r.timeout === undefined ? undefined : asProblem(check.duration("timeout", r.timeout, true)),
    r.retry === undefined || Schedule.isSchedule(r.retry) ? undefined : `retry is a Schedule, not ${check.show(r.retry)}`
  )
}

/** The problem with `Svc.bind`'s options, if any. @internal */
export const serviceProblem = (options: unknown): string | undefined => {
  const o = check.requiredObject("options", options)
  if (o !== undefined) return o
  const r = options as Record<string, unknown>
  return check.first(
    common(r),
    check.integer("maxConnections", r.maxConnections, 1, MAX_COUNT),
    check.integer("backlog", r.backlog, 0, 2 ** 31 - 1)
  )
}

const asProblem = (d: unknown): string | undefined => (typeof d === "string" ? d : undefined)
