/**
 * The reactors' metric group (docs/observability.md): one per idle strategy,
 * reading the drivers' counters when a snapshot is taken.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import type * as Context from "effect/Context"
import * as observe from "../../internal/observe.ts"
import * as Metrics from "../../Metrics.ts"
import type { Driver } from "./driver.ts"

const fields: ReadonlyArray<(d: Driver) => number> = [
  (d) => d.polls,
  (d) => d.wakeups,
  (d) => d.dispatched,
  (d) => d.registered,
  (d) => d.waiting
]

/** The reactors of `strategy` in the registry of `context`. @internal */
export const reactorGroup = (context: Context.Context<never>, strategy: string): observe.Tally<Driver> =>
  observe.group(context, `reactor ${strategy}`, () => new observe.Tally(fields), (g) => [
    observe.series(Metrics.reactorPollsTotal, { strategy }, () => g.total(0)),
    observe.series(Metrics.reactorWakeupsTotal, { strategy }, () => g.total(1)),
    observe.series(Metrics.reactorEventsTotal, { strategy }, () => g.total(2)),
    observe.series(Metrics.reactorRegistered, { strategy }, () => g.now(3)),
    observe.series(Metrics.reactorWaiting, { strategy }, () => g.now(4))
  ])
