/**
 * Callbacks see every message a connection receives and sends, with the
 * connection's id: links' `CallbackRecvSend`. `Clt` and `Svc` call
 * `onRecv` after the protocol's `onRecv` hook, and `onSent` after the bytes
 * are written and the protocol's `onSent` hook ran. Re-sends (`link.resend`,
 * used for replays) bypass callbacks, as in links.
 *
 * - `logger`: logs each message with Effect's logger, at a level per direction.
 * - `counter`: counts messages each way, with Effects that wait for a count
 *   (for tests).
 * - `store`: keeps every message with its connection id, direction and time,
 *   searchable (`find`, `findRecv`, `findSent`, waiting up to a timeout).
 * - `chain`: several callbacks, called in order.
 * - `devNull`: none (no work per message: the baseline of the benchmarks).
 *
 * `logger`, `counter` and `store` also feed Effect `Metric`s: the counter
 * `effect_mio_messages_total` with attributes `callback` (the callback's name)
 * and `direction` (`recv` or `sent`).
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type { ConId } from "./ConId.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Callback"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category guards
 */
export const isCallback = (u: unknown): u is Callback<never, never> => typeof u === "object" && u !== null && TypeId in u

/**
 * Sees messages sent (`S`) and received (`R`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Callback<in S, in R> {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly onRecv?: ((connection: ConId, message: R) => Effect.Effect<void>) | undefined
  readonly onSent?: ((connection: ConId, message: S) => Effect.Effect<void>) | undefined
}

/**
 * A callback from its functions.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <S, R>(parts: {
  readonly name?: string | undefined
  readonly onRecv?: ((connection: ConId, message: R) => Effect.Effect<void>) | undefined
  readonly onSent?: ((connection: ConId, message: S) => Effect.Effect<void>) | undefined
}): Callback<S, R> => ({
  [TypeId]: TypeId,
  name: parts.name ?? "callback",
  ...(parts.onRecv === undefined ? {} : { onRecv: parts.onRecv }),
  ...(parts.onSent === undefined ? {} : { onSent: parts.onSent })
})

/**
 * The counter `logger`, `counter` and `store` update for every message, with
 * attributes `callback` (the callback's name) and `direction` (`recv` or
 * `sent`): `Metric.value(Metric.withAttributes(Callback.messagesTotal, { callback, direction }))`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const messagesTotal: Metric.Counter<number> = Metric.counter("effect_mio_messages_total", {
  description: "Messages seen by effect-mio callbacks, by callback and direction",
  incremental: true
})
const messages = messagesTotal

/** The metric updates of one callback, made once. */
const metricsFor = (name: string) => {
  const recv = Metric.withAttributes(messages, { callback: name, direction: "recv" })
  const sent = Metric.withAttributes(messages, { callback: name, direction: "sent" })
  return { recv: Metric.update(recv, 1), sent: Metric.update(sent, 1) }
}

/**
 * No callback: nothing runs per message.
 *
 * @since 0.2.0
 * @category constructors
 */
export const devNull: Callback<unknown, unknown> = { [TypeId]: TypeId, name: "devNull" }

/**
 * @since 0.2.0
 * @category models
 */
export interface LoggerOptions {
  readonly name?: string | undefined
  /** Level of received messages (default `"Info"`). */
  readonly recv?: LogLevel.Severity | undefined
  /** Level of sent messages (default `"Info"`). */
  readonly sent?: LogLevel.Severity | undefined
}

const severities: ReadonlyArray<LogLevel.Severity> = ["Fatal", "Error", "Warn", "Info", "Debug", "Trace"]

/** A log level option (default `"Info"`); another value is a programming error, as a framer's bad option. */
const severity = (option: string, level: LogLevel.Severity | undefined): LogLevel.Severity => {
  if (level === undefined) return "Info"
  if (!severities.includes(level)) throw new RangeError(`Callback.logger: ${option} is ${severities.map((l) => JSON.stringify(l)).join(", ")}, not ${JSON.stringify(level)}`)
  return level
}

/**
 * Logs every message with Effect's logger: `"<name> recv <connection>"` (or
 * `sent`) and the message, annotated with `connection` and `direction`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const logger = (options?: LoggerOptions): Callback<unknown, unknown> => {
  const name = options?.name ?? "logger"
  const logRecv = Effect.logWithLevel(severity("recv", options?.recv))
  const logSent = Effect.logWithLevel(severity("sent", options?.sent))
  const metrics = metricsFor(name)
  return {
    [TypeId]: TypeId,
    name,
    onRecv: (connection, message) =>
      Effect.andThen(
        logRecv(`${name} recv ${connection}`, message).pipe(Effect.annotateLogs({ connection: connection.toString(), direction: "recv" })),
        metrics.recv
      ),
    onSent: (connection, message) =>
      Effect.andThen(
        logSent(`${name} sent ${connection}`, message).pipe(Effect.annotateLogs({ connection: connection.toString(), direction: "sent" })),
        metrics.sent
      )
  }
}

// --- counter -----------------------------------------------------------------------------

/**
 * @since 0.2.0
 * @category models
 */
export interface Counter extends Callback<unknown, unknown> {
  /** Messages received so far. */
  readonly recvCount: () => number
  /** Messages sent so far. */
  readonly sentCount: () => number
  /** Waits until at least `n` messages were received. */
  readonly awaitRecv: (n: number) => Effect.Effect<void>
  /** Waits until at least `n` messages were sent. */
  readonly awaitSent: (n: number) => Effect.Effect<void>
}

interface Waiter {
  readonly at: number
  readonly resume: (effect: Effect.Effect<void>) => void
}

const release = (waiters: Array<Waiter>, count: number): Array<Waiter> => {
  if (waiters.length === 0) return waiters
  const left: Array<Waiter> = []
  for (const w of waiters) {
    if (count >= w.at) w.resume(Effect.void)
    else left.push(w)
  }
  return left
}

/**
 * Counts messages each way (links' `CounterCallback`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const counter = (options?: { readonly name?: string | undefined }): Counter => {
  const name = options?.name ?? "counter"
  const metrics = metricsFor(name)
  let recv = 0
  let sent = 0
  let recvWaiters: Array<Waiter> = []
  let sentWaiters: Array<Waiter> = []
  const wait = (dir: "recv" | "sent", n: number): Effect.Effect<void> =>
    Effect.suspend(() =>
      (dir === "recv" ? recv : sent) >= n ? Effect.void : Effect.callback<void>((resume) => {
        const w: Waiter = { at: n, resume }
        if (dir === "recv") recvWaiters.push(w)
        else sentWaiters.push(w)
        return Effect.sync(() => {
          if (dir === "recv") recvWaiters = recvWaiters.filter((x) => x !== w)
          else sentWaiters = sentWaiters.filter((x) => x !== w)
        })
      })
    )
  return {
    [TypeId]: TypeId,
    name,
    onRecv: () =>
      Effect.suspend(() => {
        recv++
        recvWaiters = release(recvWaiters, recv)
        return metrics.recv
      }),
    onSent: () =>
      Effect.suspend(() => {
        sent++
        sentWaiters = release(sentWaiters, sent)
        return metrics.sent
      }),
    recvCount: () => recv,
    sentCount: () => sent,
    awaitRecv: (n) => wait("recv", n),
    awaitSent: (n) => wait("sent", n)
  }
}

// --- store -------------------------------------------------------------------------------

/**
 * A message the store kept.
 *
 * @since 0.2.0
 * @category models
 */
export interface Entry<S, R> {
  readonly connection: ConId
  /** Milliseconds of the `Clock` when the callback ran. */
  readonly at: number
  readonly entry: { readonly direction: "recv"; readonly message: R } | { readonly direction: "sent"; readonly message: S }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface FindOptions {
  /** Only messages of connections with this name (the `Clt`/`Svc` name). */
  readonly name?: string | undefined
  /** Wait up to this long for a match to arrive (default: look once). */
  readonly timeout?: Duration.Input | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Store<S, R> extends Callback<S, R> {
  /** Everything kept, oldest first. */
  readonly entries: () => ReadonlyArray<Entry<S, R>>
  /** Entries dropped because the store was full. */
  readonly dropped: () => number
  /** The latest entry that matches, waiting up to `timeout` for one. */
  readonly find: (predicate: (entry: Entry<S, R>) => boolean, options?: FindOptions) => Effect.Effect<Option.Option<Entry<S, R>>>
  /** The latest received message that matches. */
  readonly findRecv: (predicate: (message: R) => boolean, options?: FindOptions) => Effect.Effect<Option.Option<R>>
  /** The latest sent message that matches. */
  readonly findSent: (predicate: (message: S) => boolean, options?: FindOptions) => Effect.Effect<Option.Option<S>>
  readonly clear: () => void
}

/**
 * Keeps every message with its connection, direction and time (links'
 * `StoreCallback` with its `CanonicalEntryStore`). At most `capacity` entries
 * (default 100,000): the oldest go first, counted by `dropped()`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const store = <S = unknown, R = unknown>(options?: {
  readonly name?: string | undefined
  readonly capacity?: number | undefined
}): Store<S, R> => {
  const name = options?.name ?? "store"
  const capacity = options?.capacity ?? 100_000
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Callback.store: capacity is a positive integer, not ${String(capacity)}`)
  const metrics = metricsFor(name)
  // entries[start..] are kept; the dropped prefix is cut off in one copy once it is as long as
  // what is kept (at least 1,024), so a full store costs O(1) per message, not a copy of itself
  let entries: Array<Entry<S, R>> = []
  let start = 0
  let dropped = 0
  let watchers: Array<() => void> = []
  const add = (e: Entry<S, R>) => {
    entries.push(e)
    if (entries.length - start > capacity) {
      start++
      dropped++
      if (start >= Math.max(1024, capacity)) {
        entries = entries.slice(start)
        start = 0
      }
    }
    const w = watchers
    watchers = []
    for (const f of w) f()
  }
  const latest = (predicate: (e: Entry<S, R>) => boolean, filterName: string | undefined): Entry<S, R> | undefined => {
    for (let i = entries.length - 1; i >= start; i--) {
      const e = entries[i]!
      if ((filterName === undefined || e.connection.name === filterName) && predicate(e)) return e
    }
    return undefined
  }
  const find = (predicate: (e: Entry<S, R>) => boolean, options?: FindOptions): Effect.Effect<Option.Option<Entry<S, R>>> => {
    const once = Effect.sync(() => Option.fromUndefinedOr(latest(predicate, options?.name)))
    if (options?.timeout === undefined) return once
    const next: Effect.Effect<Entry<S, R>> = Effect.suspend(() => {
      const hit = latest(predicate, options.name)
      if (hit !== undefined) return Effect.succeed(hit)
      return Effect.flatMap(
        Effect.callback<void>((resume) => {
          const f = () => resume(Effect.void)
          watchers.push(f)
          return Effect.sync(() => {
            watchers = watchers.filter((x) => x !== f)
          })
        }),
        () => next
      )
    })
    return Effect.timeoutOption(next, Duration.fromInputUnsafe(options.timeout))
  }
  return {
    [TypeId]: TypeId,
    name,
    onRecv: (connection, message) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        add({ connection, at, entry: { direction: "recv", message } })
        return metrics.recv
      }),
    onSent: (connection, message) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        add({ connection, at, entry: { direction: "sent", message } })
        return metrics.sent
      }),
    entries: () => (start === 0 ? entries : entries.slice(start)),
    dropped: () => dropped,
    find,
    findRecv: (predicate, options) =>
      Effect.map(
        find((e) => e.entry.direction === "recv" && predicate(e.entry.message), options),
        Option.map((e) => e.entry.message as R)
      ),
    findSent: (predicate, options) =>
      Effect.map(
        find((e) => e.entry.direction === "sent" && predicate(e.entry.message), options),
        Option.map((e) => e.entry.message as S)
      ),
    clear: () => {
      entries = []
      start = 0
    }
  }
}

// --- chain -------------------------------------------------------------------------------

/**
 * Several callbacks, called in order for every message.
 *
 * @since 0.2.0
 * @category constructors
 */
export const chain = <S, R>(callbacks: ReadonlyArray<Callback<S, R>>): Callback<S, R> => {
  const recv = callbacks.flatMap((c) => (c.onRecv === undefined ? [] : [c.onRecv]))
  const sent = callbacks.flatMap((c) => (c.onSent === undefined ? [] : [c.onSent]))
  return {
    [TypeId]: TypeId,
    name: `chain(${callbacks.map((c) => c.name).join(", ")})`,
    ...(recv.length === 0
      ? {}
      : { onRecv: (connection: ConId, message: R) => Effect.forEach(recv, (f) => f(connection, message), { discard: true }) }),
    ...(sent.length === 0
      ? {}
      : { onSent: (connection: ConId, message: S) => Effect.forEach(sent, (f) => f(connection, message), { discard: true }) })
  }
}
