/**
 * How effect-mio's resources feed Effect's metrics and tracer at no cost on
 * their data paths.
 *
 * Metrics: the sockets, engines and the reactor keep plain number counters
 * (most of them for their `stats()` anyway). A resource joins a *group* — one
 * per kind of resource (`tcp`, `udp`, `dccp`, …), per `MetricRegistry` and per
 * `CurrentMetricAttributes` — when it is created, and leaves it when it ends.
 * The group registers its series once, with `Metric.registerUnsafe`, whose
 * `get` hook sums the counters of the live resources (and, for counters, what
 * the ended ones had counted) when a snapshot is taken. So a packet costs
 * nothing more than the counter it already bumps, a resource a `Set.add` and a
 * `Set.delete`, and a snapshot a walk over the live resources.
 *
 * Spans: `span` wraps a lifecycle event (a dial, an accepted connection, a DCCP
 * handshake or close) in a span only when a tracer other than Effect's native
 * one is installed: the native tracer exports nothing, and a span costs a few
 * microseconds, which a server accepting connections without a tracer should
 * not pay. Constructors that run once (`listen`, `Dccp.connect`, …) are
 * `Effect.fn`s instead, with a span whatever the tracer.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Tracer from "effect/Tracer"

/**
 * The live resources of one kind and what the ended ones counted. `fields`
 * read a resource's counters; `total(i)` is field `i` over the whole life of
 * the group (ended plus live), `now(i)` over the live resources only.
 *
 * @internal
 */
export class Tally<R> {
  readonly live = new Set<R>()
  readonly #fields: ReadonlyArray<(r: R) => number>
  readonly #ended: Array<number>

  constructor(fields: ReadonlyArray<(r: R) => number>) {
    this.#fields = fields
    this.#ended = fields.map(() => 0)
  }

  add(r: R): void {
    this.live.add(r)
  }

  /** `r` has ended: what it counted stays in the totals. Idempotent. */
  end(r: R): void {
    if (!this.live.delete(r)) return
    for (let i = 0; i < this.#fields.length; i++) this.#ended[i]! += this.#fields[i]!(r)
  }

  total(i: number): number {
    return this.#ended[i]! + this.now(i)
  }

  now(i: number): number {
    const f = this.#fields[i]!
    let n = 0
    for (const r of this.live) n += f(r)
    return n
  }
}

/** A field for `Tally`: 1 per resource (the count of resources). */
export const one = (): number => 1

/**
 * One series a group feeds: a counter (its value over the registry's life) or
 * a gauge (its value now), the series' attributes, and how to read it.
 *
 * @internal
 */
export interface Series {
  readonly metric: Metric.Counter<number> | Metric.Gauge<number>
  readonly attributes: Readonly<Record<string, string>>
  readonly read: () => number
}

/** @internal */
export const series = (
  metric: Metric.Counter<number> | Metric.Gauge<number>,
  attributes: Readonly<Record<string, string>>,
  read: () => number
): Series => ({ metric, attributes, read })

/** The groups made for each registry, by name and contextual attributes. */
const registries = new WeakMap<Metric.MetricRegistry, Map<string, unknown>>()
const attributeKeys = new WeakMap<object, string>()

const attributesKey = (attributes: Readonly<Record<string, string>>): string => {
  let key = attributeKeys.get(attributes)
  if (key === undefined) {
    key = JSON.stringify(Object.entries(attributes).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))
    attributeKeys.set(attributes, key)
  }
  return key
}

const noop = (): void => {}

/**
 * Registers a series whose value is read when a snapshot is taken; the
 * registration's `remove` takes it out again.
 *
 * @internal
 */
export const register = (context: Context.Context<never>, s: Series): Metric.Registration => {
  const read = s.read
  return isCounter(s.metric)
    ? Metric.registerUnsafe(Metric.withAttributes(s.metric, s.attributes), context, {
      get: () => ({ count: read(), incremental: true }),
      update: noop,
      modify: noop
    })
    : Metric.registerUnsafe(Metric.withAttributes(s.metric, s.attributes), context, {
      get: () => ({ value: read() }),
      update: noop,
      modify: noop
    })
}

const isCounter = (m: Metric.Counter<number> | Metric.Gauge<number>): m is Metric.Counter<number> => m.type === "Counter"

/**
 * The group `name` of the registry in `context` (and its
 * `CurrentMetricAttributes`): made, and its series registered, on first use;
 * shared by every resource of that kind created in such a context after.
 * Series of different groups must not coincide (each group owns its series).
 *
 * @internal
 */
export const group = <G>(
  context: Context.Context<never>,
  name: string,
  make: () => G,
  seriesOf: (g: G) => ReadonlyArray<Series>
): G => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let groups = registries.get(registry)
  if (groups === undefined) registries.set(registry, groups = new Map())
  const key = `${name} ${attributesKey(Context.get(context, Metric.CurrentMetricAttributes))}`
  let g = groups.get(key) as G | undefined
  if (g === undefined) {
    g = make()
    groups.set(key, g)
    for (const s of seriesOf(g)) register(context, s)
  }
  return g
}

/**
 * Joins `r` to `tally` until the Scope closes.
 *
 * @internal
 */
export const joinScoped = <R>(tally: Tally<R>, r: R) =>
  Effect.acquireRelease(Effect.sync(() => tally.add(r)), () => Effect.sync(() => tally.end(r)))

/**
 * `self` in a span named `name` when a tracer other than Effect's native one
 * is installed (the native tracer exports nothing); `self` unchanged, at the
 * cost of one context lookup, otherwise. `attributes` is called only when the
 * span is made.
 *
 * @internal
 */
export const span = (
  name: string,
  kind: Tracer.SpanKind,
  attributes: () => Record<string, unknown>
) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) =>
    fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer
      ? self
      : Effect.withSpan(self, name, { kind, attributes: attributes(), captureStackTrace: false })
  )

/**
 * Whether a tracer other than Effect's native one is installed: attributes
 * worth computing only for an exporter are computed then only.
 *
 * @internal
 */
export const tracing: Effect.Effect<boolean> = Effect.withFiber((fiber) =>
  Effect.succeed(fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer)
)

/**
 * The OpenTelemetry attributes of an address (`network.transport` aside):
 * `<prefix>.address` and `<prefix>.port` for an IP address and port,
 * `<prefix>.address` alone for a path.
 *
 * @internal
 */
export const addressAttributes = (prefix: string, address: string | undefined): Record<string, unknown> => {
  if (address === undefined) return {}
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address)
  return m === null ? { [`${prefix}.address`]: address } : { [`${prefix}.address`]: m[1], [`${prefix}.port`]: Number(m[2]) }
}
