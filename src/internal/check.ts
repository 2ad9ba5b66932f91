/**
 * Checks of option values, shared by every floor: each returns `undefined` for
 * a good value (or one not given) and otherwise a sentence naming the option,
 * what it accepts and the value it got. The caller wraps the sentence in its
 * own error type (`IoError`, `DccpError`, Effect's socket errors) with kind
 * `InvalidInput`, so a bad option never becomes a defect or a silent default.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** A value as an error message shows it. @internal */
export const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "function") return "a function"
  if (value !== null && typeof value === "object") {
    try {
      return JSON.stringify(value) ?? String(value)
    } catch {
      return Object.prototype.toString.call(value)
    }
  }
  return String(value)
}

/** A bound as a message shows it: `2^31 - 1` rather than 2147483647. */
const bound = (n: number): string =>
  n === 2 ** 31 - 1 ? "2^31 - 1" : n === 2 ** 32 - 1 ? "2^32 - 1" : n === Number.MAX_SAFE_INTEGER ? "2^53 - 1" : String(n)

/** An integer from `min` to `max`, given (`undefined` is a problem too). @internal */
export const requiredInteger = (name: string, value: unknown, min: number, max: number): string | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? undefined
    : `${name} is ${range(min, max)}, not ${show(value)}`

/** "an integer from 1 to 255", "a positive integer", "a non-negative integer". */
const range = (min: number, max: number): string =>
  max !== Number.MAX_SAFE_INTEGER ? `an integer from ${bound(min)} to ${bound(max)}`
  : min === 1 ? "a positive integer"
  : min === 0 ? "a non-negative integer"
  : `an integer from ${bound(min)}`

/** An integer from `min` to `max`, or not given. @internal */
export const integer = (name: string, value: unknown, min: number, max: number): string | undefined =>
  value === undefined ? undefined : requiredInteger(name, value, min, max)

/** A finite number from `min` to `max` (fractions allowed), given. @internal */
export const requiredNumber = (name: string, value: unknown, min: number, max: number): string | undefined =>
  typeof value === "number" && value >= min && value <= max && Number.isFinite(value)
    ? undefined
    : `${name} is a number from ${bound(min)} to ${bound(max)}, not ${show(value)}`

/** A finite number from `min` to `max` (fractions allowed), or not given. @internal */
export const number = (name: string, value: unknown, min: number, max: number): string | undefined =>
  value === undefined ? undefined : requiredNumber(name, value, min, max)

/** `true` or `false`, given. @internal */
export const requiredBoolean = (name: string, value: unknown): string | undefined =>
  typeof value === "boolean" ? undefined : `${name} is true or false, not ${show(value)}`

/** `true` or `false`, or not given. @internal */
export const boolean = (name: string, value: unknown): string | undefined =>
  value === undefined ? undefined : requiredBoolean(name, value)

/** An options object, given. @internal */
export const requiredObject = (name: string, value: unknown): string | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? undefined : `${name} is an object, not ${show(value)}`

/** An options object, or not given. @internal */
export const object = (name: string, value: unknown): string | undefined =>
  value === undefined ? undefined : requiredObject(name, value)

/** A `Uint8Array` (a `Buffer` is one). @internal */
export const bytes = (name: string, value: unknown): string | undefined =>
  value instanceof Uint8Array ? undefined : `${name} is a Uint8Array, not ${show(value)}`

/** An array of `Uint8Array`s. @internal */
export const byteArrays = (name: string, value: unknown): string | undefined => {
  if (!Array.isArray(value)) return `${name} is an array of Uint8Arrays, not ${show(value)}`
  for (let i = 0; i < value.length; i++) {
    if (!(value[i] instanceof Uint8Array)) return `${name}[${i}] is a Uint8Array, not ${show(value[i])}`
  }
  return undefined
}

/** One of `choices`. @internal */
export const oneOf = (name: string, value: unknown, choices: ReadonlyArray<string | number>): string | undefined =>
  value === undefined || choices.includes(value as string | number)
    ? undefined
    : `${name} is ${choices.map((c) => show(c)).join(", ").replace(/, ([^,]*)$/, " or $1")}, not ${show(value)}`

/** A function. @internal */
export const func = (name: string, value: unknown): string | undefined =>
  value === undefined || typeof value === "function" ? undefined : `${name} is a function, not ${show(value)}`

/**
 * A non-negative duration (`"5 seconds"`, a number of milliseconds, a
 * `Duration`, a `[seconds, nanos]` pair, a `{ seconds: 30 }` object), given; finite unless `infinite`
 * allows `Infinity` ("wait forever"). `Duration.fromInput` alone is too lenient
 * for user input (it reads `NaN` and `{}` as zero), so the shape is checked
 * first. Returns the duration or the problem.
 *
 * @internal
 */
export const duration = (name: string, value: unknown, infinite = false): Duration.Duration | string => {
  const problem = `${name} is a ${infinite ? "" : "finite, "}non-negative duration ("5 seconds", a number of milliseconds, { seconds: 5 }, a Duration), not ${show(value)}`
  const shaped = typeof value === "number" ? !Number.isNaN(value)
    : typeof value === "string" || typeof value === "bigint" || Duration.isDuration(value) ||
      (Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === "number" && Number.isFinite(n))) ||
      isDurationObject(value)
  if (!shaped) return problem
  const d = Duration.fromInput(value as Duration.Input)
  if (Option.isNone(d) || (!infinite && !Duration.isFinite(d.value))) return problem
  return Duration.toMillis(d.value) >= 0 ? d.value : problem
}

const durationUnits = ["weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"]

/** Effect's `Duration.DurationObject` (`{ seconds: 30 }`): known units only, at least one, finite numbers. */
const isDurationObject = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false
  let units = 0
  for (const [key, n] of Object.entries(value)) {
    if (!durationUnits.includes(key)) return false
    if (n === undefined) continue
    if (typeof n !== "number" || !Number.isFinite(n)) return false
    units++
  }
  return units > 0
}

/**
 * A finite, non-negative duration in milliseconds, `fallback` when not given,
 * or the problem.
 *
 * @internal
 */
export const millis = (name: string, value: unknown, fallback: number): number | string => {
  if (value === undefined) return fallback
  const d = duration(name, value)
  return typeof d === "string" ? d : Duration.toMillis(d)
}

/** The first problem of several checks. @internal */
export const first = (...problems: ReadonlyArray<string | undefined>): string | undefined => problems.find((p) => p !== undefined)
