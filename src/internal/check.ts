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

/** An integer from `min` to `max`. @internal */
export const integer = (name: string, value: unknown, min: number, max: number): string | undefined =>
  value === undefined || (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)
    ? undefined
    : `${name} is an integer from ${min} to ${max}, not ${show(value)}`

/** `true` or `false`. @internal */
export const boolean = (name: string, value: unknown): string | undefined =>
  value === undefined || typeof value === "boolean" ? undefined : `${name} is true or false, not ${show(value)}`

/** One of `choices`. @internal */
export const oneOf = (name: string, value: unknown, choices: ReadonlyArray<string | number>): string | undefined =>
  value === undefined || choices.includes(value as string | number)
    ? undefined
    : `${name} is ${choices.map((c) => show(c)).join(", ").replace(/, ([^,]*)$/, " or $1")}, not ${show(value)}`

/** A function. @internal */
export const func = (name: string, value: unknown): string | undefined =>
  value === undefined || typeof value === "function" ? undefined : `${name} is a function, not ${show(value)}`

/**
 * A finite, non-negative duration (`"5 seconds"`, a number of milliseconds, a
 * `Duration`) in milliseconds, `fallback` when not given, or the problem.
 *
 * @internal
 */
export const millis = (name: string, value: unknown, fallback: number): number | string => {
  if (value === undefined) return fallback
  const problem = `${name} is a finite, non-negative duration ("5 seconds", a number of milliseconds, a Duration), not ${show(value)}`
  const shaped = typeof value === "number" ? Number.isFinite(value)
    : typeof value === "string" || typeof value === "bigint" || Duration.isDuration(value) ||
      (Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === "number" && Number.isFinite(n)))
  if (!shaped) return problem
  const d = Duration.fromInput(value as Duration.Input)
  if (Option.isNone(d) || !Duration.isFinite(d.value)) return problem
  const ms = Duration.toMillis(d.value)
  return ms >= 0 ? ms : problem
}

/** The first problem of several checks. @internal */
export const first = (...problems: ReadonlyArray<string | undefined>): string | undefined => problems.find((p) => p !== undefined)
