/**
 * The classifier behind test/hostile/bad-input.test.ts: runs one bad input of
 * the public API and says what became of it.
 *
 * - `Typed`: a `Fail` in the Cause, or an error value returned at the readiness
 *   level (`IoError`, a failed `Result`), with its kind and every message in
 *   its chain of causes;
 * - `Defect`: a `Die` in the Cause;
 * - `Throw`: the call threw synchronously;
 * - `Hang`: no answer within the time limit;
 * - `Accepted`: it succeeded — for a bad input, silent acceptance.
 *
 * A case passes when it is `Typed` with the expected kind and its messages name
 * the option (or input) and the value.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import { DccpError } from "../../../src/dccp/DccpError.ts"
import { IoError } from "../../../src/IoError.ts"
import { RudpError } from "../../../src/rudp/RudpError.ts"
import { ConditionsError } from "../../../src/testing/Impairment.ts"

/** What became of one bad input. */
export type Outcome =
  | { readonly _tag: "Typed"; readonly kind: string; readonly text: string }
  | { readonly _tag: "Defect"; readonly text: string }
  | { readonly _tag: "Throw"; readonly text: string }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Accepted"; readonly text: string }

/** One bad input: how to make it, and the typed failure expected. */
export interface Case<F> {
  readonly name: string
  readonly run: (fixture: F) => unknown
  /** The kind expected (an `IoError`/`DccpError`/`RudpError` kind, or `"ConditionsError"`). */
  readonly kind: string
  /** What the messages must name: the option or input, and the value as shown. */
  readonly names: ReadonlyArray<string>
}

/** A group of cases sharing a fixture (a poll, a connected stream, …). */
export interface Group<F, R> {
  readonly name: string
  readonly fixture: Effect.Effect<F, unknown, R | Scope.Scope>
  readonly cases: ReadonlyArray<Case<F>>
}

/** A value as the messages show it: strings and objects as JSON, the rest as `String`. */
export const shown = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "function") return "a function"
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value)
    } catch {
      return Object.prototype.toString.call(value)
    }
  }
  return String(value)
}

/** A case whose messages must name `option` and `value` (shown). */
export const bad = <F>(
  name: string,
  option: string,
  value: unknown,
  run: (fixture: F) => unknown,
  kind = "InvalidInput"
): Case<F> => ({ name, run, kind, names: [option, shown(value)] })

/** One case per value: `label(value)`, each naming `option` and its value. */
export const each = <F>(
  label: string,
  option: string,
  values: ReadonlyArray<unknown>,
  run: (fixture: F, value: unknown) => unknown,
  kind = "InvalidInput"
): Array<Case<F>> => values.map((v) => bad<F>(`${label} ${shown(v)}`, option, v, (f) => run(f, v), kind))

/**
 * One case per `[value, named]` pair, where the message must name `option` and
 * `named` — for values the message reports a part of (the bad element of an
 * array, the path of an address object).
 */
export const eachNaming = <F>(
  label: string,
  option: string,
  pairs: ReadonlyArray<readonly [unknown, string]>,
  run: (fixture: F, value: unknown) => unknown,
  kind = "InvalidInput"
): Array<Case<F>> =>
  pairs.map(([v, named]) => ({ name: `${label} ${shown(v).slice(0, 60)}`, run: (f: F) => run(f, v), kind, names: [option, named] }))

/** Kinds and texts along an error's chain (`reason`, `cause`). */
const describeError = (error: unknown): { readonly kind: string; readonly text: string } => {
  let kind = "untyped"
  const texts: Array<string> = []
  let e: unknown = error
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof IoError || e instanceof DccpError || e instanceof RudpError) kind = e.kind
    else if (e instanceof ConditionsError && kind === "untyped") kind = "ConditionsError"
    if (typeof e === "object") {
      const o = e as { readonly message?: unknown; readonly detail?: unknown; readonly reason?: unknown; readonly cause?: unknown }
      if (typeof o.message === "string") texts.push(o.message)
      if (typeof o.detail === "string") texts.push(o.detail)
      e = o.reason ?? o.cause
    } else {
      texts.push(String(e))
      e = undefined
    }
  }
  return { kind, text: texts.join(" | ") }
}

const isErrorValue = (u: unknown): boolean => u instanceof IoError || u instanceof DccpError || u instanceof ConditionsError

const fromValue = (value: unknown): Outcome => {
  if (isErrorValue(value)) return { _tag: "Typed", ...describeError(value) }
  if (Result.isResult(value)) {
    return Result.isFailure(value)
      ? { _tag: "Typed", ...describeError(value.failure) }
      : { _tag: "Accepted", text: shown(value.success) }
  }
  // An unscoped source built from bad input: accepted, and closed here.
  if (typeof value === "object" && value !== null && typeof (value as { close?: unknown }).close === "function" && "fd" in value) {
    ;(value as unknown as { close: () => void }).close()
  }
  return { _tag: "Accepted", text: typeof value === "object" && value !== null ? value.constructor.name : shown(value) }
}

const fromExit = (exit: Exit.Exit<unknown, unknown>): Outcome => {
  if (Exit.isSuccess(exit)) return fromValue(exit.value)
  const fail = exit.cause.reasons.find(Cause.isFailReason)
  if (fail !== undefined) return { _tag: "Typed", ...describeError(fail.error) }
  const die = exit.cause.reasons.find(Cause.isDieReason)
  if (die !== undefined) return { _tag: "Defect", text: String(die.defect) }
  return { _tag: "Defect", text: `interrupted: ${Cause.pretty(exit.cause)}` }
}

/** Runs a case: a synchronous call, or the Effect it returns (scoped, with a time limit). */
export const classify = <R>(run: () => unknown, limitMillis = 2000): Effect.Effect<Outcome, never, R> =>
  Effect.suspend(() => {
    let value: unknown
    try {
      value = run()
    } catch (e) {
      return Effect.succeed<Outcome>({ _tag: "Throw", text: String(e) })
    }
    if (!Effect.isEffect(value)) return Effect.succeed(fromValue(value))
    return (value as Effect.Effect<unknown, unknown, R | Scope.Scope>).pipe(
      Effect.scoped,
      Effect.exit,
      Effect.timeoutOption(limitMillis),
      Effect.map((o): Outcome => Option.isNone(o) ? { _tag: "Hang" } : fromExit(o.value))
    )
  })

/** What a case got wrong, or `undefined` when it is classified as expected. */
export const judge = <F>(c: Case<F>, outcome: Outcome): string | undefined => {
  if (outcome._tag !== "Typed") return `${outcome._tag}${"text" in outcome ? `: ${outcome.text}` : ""}`
  if (outcome.kind !== c.kind) return `kind ${outcome.kind}, expected ${c.kind}: ${outcome.text}`
  const missing = c.names.filter((n) => !outcome.text.includes(n))
  return missing.length === 0 ? undefined : `message does not name ${missing.join(", ")}: ${outcome.text}`
}

/** The result of a group: how many cases ran, and what each misclassified one got. */
export interface Tally {
  readonly cases: number
  readonly failures: ReadonlyArray<string>
}

/** Runs every case of a group against one fixture; returns what went wrong. */
export const runGroup = <F, R>(group: Group<F, R>): Effect.Effect<Tally, unknown, R> =>
  Effect.scoped(Effect.gen(function*() {
    const fixture = yield* group.fixture
    const failures: Array<string> = []
    for (const c of group.cases) {
      const problem = judge(c, yield* classify<R>(() => c.run(fixture)))
      if (problem !== undefined) failures.push(`${group.name}: ${c.name} → ${problem}`)
    }
    return { cases: group.cases.length, failures }
  }))
