/**
 * Compiles the body of a struct or tagged message — its fields in order — into
 * a reader, a writer and a size function of its own, with `new Function`, so
 * that each field access and each field's call site in them is monomorphic, and
 * a decoded value is one object literal (one hidden class). Field offsets are
 * constants in the code. Field names enter the code only through
 * `JSON.stringify` (property keys), and `__proto__` is refused.
 *
 * A failing field records its problem; the compiled code then prefixes the
 * field's path (`Order.price: …`) and stops.
 *
 * @internal
 */

/** What the compiled code needs of a field layout. @internal */
export interface FieldLayout {
  readonly size: number | undefined
  readonly minSize: number
  readonly sizeOf: (value: any, problem: { detail: string | undefined }) => number
  readonly write: (bytes: Uint8Array, at: number, value: any, problem: { detail: string | undefined }) => number
  readonly read: (bytes: Uint8Array, at: number, end: number, problem: { detail: string | undefined }) => any
}

/** @internal */
export interface CompiledBody {
  /** Bytes of the fixed fields. */
  readonly prefix: number
  /** The variable last field, if any. */
  readonly variable: FieldLayout | undefined
  readonly sizeOf: (value: Record<string, unknown>, problem: { detail: string | undefined }) => number
  readonly write: (bytes: Uint8Array, at: number, value: Record<string, unknown>, problem: { detail: string | undefined }) => number
  /** Reads `bytes[at, end)`; checks the length first. */
  readonly read: (bytes: Uint8Array, at: number, end: number, problem: { detail: string | undefined }) => Record<string, unknown> | undefined
}

const prefixed = (problem: { detail: string | undefined }, path: string): undefined => {
  problem.detail = `${path}: ${problem.detail}`
  return undefined
}

const failLength = (problem: { detail: string | undefined }, owner: string, n: number, expected: string): undefined => {
  if (problem.detail === undefined) problem.detail = `${owner}: ${n} bytes for a layout of ${expected}`
  return undefined
}

/**
 * Compiles `fields` (in order; only the last may have a variable size). With
 * `tag`, decoded values start with `_tag: tag` (the type byte is the caller's).
 *
 * @internal
 */
export const compileBody = (owner: string, fields: ReadonlyArray<readonly [string, FieldLayout]>, tag: string | undefined): CompiledBody => {
  let prefix = 0
  let variable: FieldLayout | undefined = undefined
  const offsets: Array<number> = []
  fields.forEach(([name, layout], i) => {
    if (name === "__proto__") throw new RangeError(`${owner}: "__proto__" cannot be a field name`)
    offsets.push(prefix)
    if (layout.size === undefined) {
      if (i !== fields.length - 1) throw new RangeError(`${owner}.${name} has a variable size: only the last field may`)
      variable = layout as FieldLayout
    } else prefix += layout.size
  })
  const v = variable as FieldLayout | undefined
  const key = (i: number) => JSON.stringify(fields[i]![0])
  const path = (i: number) => JSON.stringify(`${owner}.${fields[i]![0]}`)
  const last = fields.length - 1
  const params = fields.map((_, i) => `l${i}`)

  const readLines = fields.map(([, layout], i) => {
    const from = `at + ${offsets[i]}`
    const to = layout.size === undefined ? "end" : `at + ${offsets[i]! + layout.size}`
    return `const v${i} = l${i}.read(bytes, ${from}, ${to}, problem); if (problem.detail !== undefined) return prefixed(problem, ${path(i)});`
  })
  const literal = [
    ...(tag === undefined ? [] : [`_tag: ${JSON.stringify(tag)}`]),
    ...fields.map((_, i) => `${key(i)}: v${i}`)
  ].join(", ")
  const lengthCheck = v === undefined
    ? `if (end - at !== ${prefix}) return failLength(problem, ${JSON.stringify(owner)}, end - at, "${prefix}");`
    : `if (end - at < ${prefix + v.minSize}) return failLength(problem, ${JSON.stringify(owner)}, end - at, "at least ${prefix + v.minSize}");`
  const read = `return function read(bytes, at, end, problem) {
    ${lengthCheck}
    ${readLines.join("\n    ")}
    return { ${literal} };
  }`

  const writeLines = fields.map((_, i) =>
    i === last && v !== undefined
      ? `const end = l${i}.write(bytes, at + ${offsets[i]}, value[${key(i)}], problem); if (problem.detail !== undefined) prefixed(problem, ${path(i)}); return end;`
      : `l${i}.write(bytes, at + ${offsets[i]}, value[${key(i)}], problem); if (problem.detail !== undefined) { prefixed(problem, ${path(i)}); return at; }`
  )
  const write = `return function write(bytes, at, value, problem) {
    ${writeLines.join("\n    ")}
    ${v === undefined ? `return at + ${prefix};` : ""}
  }`

  const size = v === undefined
    ? `return function sizeOf() { return ${prefix}; }`
    : `return function sizeOf(value, problem) {
    const n = l${last}.sizeOf(value[${key(last)}], problem);
    if (problem.detail !== undefined) prefixed(problem, ${path(last)});
    return ${prefix} + n;
  }`

  const make = (body: string) =>
    new Function(...params, "prefixed", "failLength", `"use strict";\n${body}`)(...fields.map(([, l]) => l), prefixed, failLength)
  return { prefix, variable: v, sizeOf: make(size), write: make(write), read: make(read) }
}
