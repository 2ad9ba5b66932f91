/**
 * Link selectors (`"a->b"`, `"a<->b"`, `"*"`), and the checks `SimNet` runs on
 * its options, faults and selectors before they reach the network core: each
 * problem is a `ConditionsError` naming the field and the value.
 *
 * @internal
 */
import * as Result from "effect/Result"
import * as check from "../../internal/check.ts"
import * as Impairment from "../Impairment.ts"
import type { NetworkOptions } from "../Network.ts"

/** One direction a rule applies to (`*` for any host). @internal */
export interface Selector {
  readonly from: string
  readonly to: string
}

/** The selectors of a link selector text, or the reason it is not one. */
const selectors = (text: unknown): ReadonlyArray<Selector> | string => {
  const problem = `a link selector is "a->b", "a<->b", "a->*", "*->b" or "*", not ${check.show(text)}`
  if (typeof text !== "string") return problem
  const t = text.replace(/\s+/g, "")
  if (t === "*") return [{ from: "*", to: "*" }]
  const both = t.split("<->")
  if (both.length === 2 && both[0]!.length > 0 && both[1]!.length > 0) {
    return [{ from: both[0]!, to: both[1]! }, { from: both[1]!, to: both[0]! }]
  }
  const one = t.split("->")
  if (one.length === 2 && one[0]!.length > 0 && one[1]!.length > 0) return [{ from: one[0]!, to: one[1]! }]
  return problem
}

/** The selectors of `text`; throws a `RangeError` for a text that is not one. @internal */
export const parseSelector = (text: string): ReadonlyArray<Selector> => {
  const s = selectors(text)
  if (typeof s === "string") throw new RangeError(s)
  return s
}

const conditionsError = (field: string, message: string) => new Impairment.ConditionsError({ field, message })

/**
 * Why `link` is not a link selector (`ConditionsError` of `field`), or
 * `undefined`.
 *
 * @internal
 */
export const selectorProblem = (field: string, link: unknown): Impairment.ConditionsError | undefined => {
  const s = selectors(link)
  return typeof s === "string" ? conditionsError(field, `${field}: ${s}`) : undefined
}

const hostsProblem = (field: string, hosts: unknown): Impairment.ConditionsError | undefined =>
  (typeof hosts === "string" && hosts.length > 0) ||
    (Array.isArray(hosts) && hosts.length > 0 && hosts.every((h) => typeof h === "string" && h.length > 0))
    ? undefined
    : conditionsError(field, `${field}: a host name or a non-empty array of host names, not ${check.show(hosts)}`)

/**
 * Why `fault` is not a `Fault` — an unknown tag, a link that is not a
 * selector, conditions out of range — or `undefined`.
 *
 * @internal
 */
export const faultProblem = (fault: unknown, field = "fault"): Impairment.ConditionsError | undefined => {
  const f = fault as Partial<Record<string, unknown>> | null
  switch (typeof f === "object" && f !== null ? f._tag : undefined) {
    case "DropAll":
    case "Heal":
      return selectorProblem(`${field}.link`, f!.link)
    case "Partition":
      return hostsProblem(`${field}.a`, f!.a) ?? hostsProblem(`${field}.b`, f!.b)
    case "SetConditions": {
      const bad = selectorProblem(`${field}.link`, f!.link)
      if (bad !== undefined) return bad
      const c = Impairment.conditions(f!.conditions as Impairment.ConditionsInput)
      return Result.isFailure(c) ? c.failure : undefined
    }
    default:
      return conditionsError(field, `${field} is a Fault (dropAll, heal, partition, setConditions), not ${check.show(fault)}`)
  }
}

/**
 * The first problem of `NetworkOptions` — conditions out of range, a seed that
 * is not a safe integer, a bad link selector, script entry or trace limit — or
 * `undefined`. `make` throws on these; `SimNet.make` fails with them.
 *
 * @internal
 */
export const optionsProblem = (options: unknown): Impairment.ConditionsError | undefined => {
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return conditionsError("options", `options is an object, not ${check.show(options)}`)
  }
  const o = options as NetworkOptions
  if (o.seed !== undefined && !(typeof o.seed === "number" && Number.isSafeInteger(o.seed))) {
    return conditionsError("seed", `seed is a safe integer, not ${check.show(o.seed)}`)
  }
  const defaults = Impairment.conditions(o)
  if (Result.isFailure(defaults)) return defaults.failure
  if (o.links !== undefined) {
    if (typeof o.links !== "object" || o.links === null || Array.isArray(o.links)) {
      return conditionsError("links", `links is an object of conditions by selector, not ${check.show(o.links)}`)
    }
    for (const [selector, input] of Object.entries(o.links)) {
      const bad = selectorProblem("links", selector)
      if (bad !== undefined) return bad
      const c = Impairment.conditions(input, defaults.success)
      if (Result.isFailure(c)) return conditionsError("links", `links[${JSON.stringify(selector)}]: ${c.failure.message}`)
    }
  }
  if (o.script !== undefined) {
    if (!Array.isArray(o.script)) return conditionsError("script", `script is an array of { at, fault }, not ${check.show(o.script)}`)
    for (const [i, entry] of o.script.entries()) {
      if (typeof entry !== "object" || entry === null) {
        return conditionsError("script", `script[${i}] is { at, fault }, not ${check.show(entry)}`)
      }
      const at = check.duration(`script[${i}].at`, entry.at)
      if (typeof at === "string") return conditionsError("script", at)
      const bad = faultProblem(entry.fault, `script[${i}].fault`)
      if (bad !== undefined) return bad
    }
  }
  const trace = o.trace
  if (trace !== undefined && trace !== false) {
    const limit = typeof trace === "object" && trace !== null ? trace.limit : trace
    if (typeof trace !== "object" || trace === null || (limit !== undefined && !(typeof limit === "number" && Number.isSafeInteger(limit) && limit >= 0))) {
      return conditionsError("trace", `trace is false or { limit } with a limit ≥ 0, not ${check.show(trace)}`)
    }
  }
  return undefined
}
