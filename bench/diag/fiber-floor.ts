/**
 * The memory floor of a fiber per connection: JS heap per parked fiber for the
 * shapes an `effect/socket` handler takes, with no socket at all. Diagnostic for
 * the many-connections RSS target, not part of `npm run bench`.
 *
 *   node --expose-gc --import tsx bench/diag/fiber-floor.ts [fibers]
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

const n = Number(process.argv[2] ?? 10000)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with --expose-gc")
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** A suspension that is never resumed, like a pull on an idle connection. */
const parked = Effect.callback<void>(() => {})

const shapes: Record<string, () => Effect.Effect<void>> = {
  "bare fiber, parked in Effect.callback": () => parked,
  "Effect.gen loop parked (the handler's generator)": () =>
    Effect.gen(function*() {
      for (;;) yield* parked
    }),
  "Effect.scoped(gen) with two finalizers (reader + writer acquired)": () =>
    Effect.scoped(Effect.gen(function*() {
      yield* Effect.addFinalizer(() => Effect.void)
      yield* Effect.addFinalizer(() => Effect.void)
      for (;;) yield* parked
    }))
}

const results: Record<string, number> = {}
for (const [name, make] of Object.entries(shapes)) {
  const before = heap()
  const fibers: Array<Fiber.Fiber<void>> = []
  for (let i = 0; i < n; i++) fibers.push(Effect.runFork(make()))
  await new Promise((r) => setImmediate(r))
  results[name] = Math.round((heap() - before) / n)
  for (const f of fibers) Effect.runFork(Fiber.interrupt(f))
  await new Promise((r) => setImmediate(r))
}
console.log(JSON.stringify({ fibers: n, heap_bytes_per_fiber: results }, null, 2))
