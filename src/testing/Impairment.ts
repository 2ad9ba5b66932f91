/**
 * Network conditions as a pure function: one `Link` is one direction of a
 * path, and `link.transmit(now, payload)` says what the path does with a
 * packet — drop it (and why), or deliver it (when, possibly corrupted,
 * possibly twice). No I/O, no clock, no Effect: the same code runs inside
 * `SimNet` (virtual time) and inside the lossy UDP relay (real time, real
 * sockets), so a condition measured in one is the condition of the other.
 *
 * Per packet, in this order:
 * 1. Gilbert-Elliott burst state steps (good ⇄ bad);
 * 2. a blocked link (`dropAll`, partition) drops it: `blocked`;
 * 3. a payload longer than `mtu` is dropped: `mtu`;
 * 4. with `bandwidth`, it queues behind the packets still serializing; a full
 *    queue drops it (tail drop): `queue`; otherwise it leaves when serialized;
 * 5. burst loss in the current state: `burst`; independent loss: `loss`;
 * 6. with probability `corrupt`, one random bit is flipped (on a copy);
 * 7. it arrives `latency ± jitter` (uniform) after it left, never before a
 *    packet sent earlier on the link (jitter alone does not reorder);
 * 8. with probability `reorder`, it is held `reorderDelay` longer instead and
 *    skips the FIFO rule, so packets sent after it overtake it;
 * 9. with probability `duplicate`, a copy is delivered as well (FIFO, with
 *    its own jitter).
 *
 * Every packet consumes exactly nine draws from the link's generator whatever
 * the conditions, so turning one impairment on or off never changes which
 * packets another one picks. Times are milliseconds (any origin), rounded to
 * the microsecond.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Result from "effect/Result"
import * as check from "../internal/check.ts"
import * as Prng from "./Prng.ts"
import * as Trace from "./Trace.ts"

/**
 * @since 0.1.0
 * @category type IDs
 */
export const TypeId = "~effect-mio/testing/Impairment/Link" as const

/**
 * @since 0.1.0
 * @category type IDs
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category guards
 */
export const isLink = (u: unknown): u is Link => typeof u === "object" && u !== null && TypeId in u

/**
 * Gilbert-Elliott two-state loss: the link is either good or bad; before each
 * packet it moves good → bad with probability `enterBad` and bad → good with
 * probability `leaveBad`; a packet is lost with probability `lossInBad` in the
 * bad state and `lossInGood` in the good one. The mean burst length is
 * `1 / leaveBad` packets; the long-run loss is
 * `(enterBad · lossInBad + leaveBad · lossInGood) / (enterBad + leaveBad)`.
 * These are netem's `loss gemodel p r 1-h 1-k`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BurstLoss {
  readonly enterBad: number
  readonly leaveBad: number
  readonly lossInBad: number
  readonly lossInGood: number
}

/**
 * A bottleneck: packets serialize at `bitsPerSecond`; packets waiting behind
 * the one on the wire may total `queueBytes` at most, beyond which new ones
 * are dropped (tail drop). A packet reaching an idle link is never dropped.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bandwidth {
  readonly bitsPerSecond: number
  readonly queueBytes: number
}

/**
 * The conditions of one direction of a path, resolved (every field set).
 * Durations are milliseconds, rates are probabilities in `[0, 1]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Conditions {
  readonly latency: number
  readonly jitter: number
  readonly loss: number
  readonly burstLoss: BurstLoss | undefined
  readonly duplicate: number
  readonly reorder: number
  /** Extra delay of a reordered packet; `undefined` means `max(1, latency)`. */
  readonly reorderDelay: number | undefined
  readonly corrupt: number
  /** Largest payload carried, in bytes; `Infinity` for no limit. */
  readonly mtu: number
  readonly bandwidth: Bandwidth | undefined
}

/**
 * Conditions as written by a user. Durations accept anything
 * `Duration.Input` does (a number is milliseconds); every field is optional
 * and falls back to the base conditions (ideal: no delay, no loss). `false`
 * removes burst loss or a bandwidth limit inherited from the base.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConditionsInput {
  readonly latency?: Duration.Input | undefined
  readonly jitter?: Duration.Input | undefined
  readonly loss?: number | undefined
  readonly burstLoss?:
    | {
      readonly enterBad: number
      readonly leaveBad: number
      readonly lossInBad?: number | undefined
      readonly lossInGood?: number | undefined
    }
    | false
    | undefined
  readonly duplicate?: number | undefined
  readonly reorder?: number | undefined
  readonly reorderDelay?: Duration.Input | undefined
  readonly corrupt?: number | undefined
  readonly mtu?: number | undefined
  readonly bandwidth?: { readonly bitsPerSecond: number; readonly queueBytes?: number | undefined } | false | undefined
}

/**
 * A condition out of range, naming the field.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConditionsError extends Data.TaggedError("ConditionsError")<{
  readonly field: string
  readonly message: string
}> {}

/**
 * The ideal path: no delay, no loss, no limit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ideal: Conditions = {
  latency: 0,
  jitter: 0,
  loss: 0,
  burstLoss: undefined,
  duplicate: 0,
  reorder: 0,
  reorderDelay: undefined,
  corrupt: 0,
  mtu: Infinity,
  bandwidth: undefined
}

const defaultQueueBytes = 64 * 1024

/** Throws the `ConditionsError` of `field`; `message` names the field and the value. */
const fail = (field: string, message: string): never => {
  throw new ConditionsError({ field, message })
}

const millis = (field: string, input: Duration.Input): number => {
  const d = check.duration(field, input)
  return typeof d === "string" ? fail(field, d) : Duration.toMillis(d)
}

const probability = (field: string, p: unknown): number =>
  typeof p === "number" && p >= 0 && p <= 1 ? p : fail(field, `${field}: a probability in [0, 1], not ${check.show(p)}`)

const positive = (field: string, n: unknown): number =>
  typeof n === "number" && n > 0 && n !== Infinity ? n : fail(field, `${field}: a finite number > 0, not ${check.show(n)}`)

/** An optional object field: the object, `false` (off) or `undefined` (unchanged). */
const section = <A>(field: string, value: unknown, shape: string): A | false | undefined =>
  value === undefined || value === false || (typeof value === "object" && value !== null && !Array.isArray(value))
    ? value as A | false | undefined
    : fail(field, `${field}: ${shape} or false, not ${check.show(value)}`)

const resolveUnsafe = (input: ConditionsInput, base: Conditions): Conditions => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    fail("conditions", `conditions: an object of conditions, not ${check.show(input)}`)
  }
  const burst = section<NonNullable<Exclude<ConditionsInput["burstLoss"], false>>>(
    "burstLoss",
    input.burstLoss,
    "{ enterBad, leaveBad, lossInBad?, lossInGood? }"
  )
  const bandwidth = section<NonNullable<Exclude<ConditionsInput["bandwidth"], false>>>(
    "bandwidth",
    input.bandwidth,
    "{ bitsPerSecond, queueBytes? }"
  )
  const mtu: unknown = input.mtu === undefined ? base.mtu : input.mtu
  if (!(mtu === Infinity || (typeof mtu === "number" && Number.isSafeInteger(mtu) && mtu >= 0))) {
    fail("mtu", `mtu: a byte count ≥ 0 or Infinity, not ${check.show(mtu)}`)
  }
  return {
    latency: input.latency === undefined ? base.latency : millis("latency", input.latency),
    jitter: input.jitter === undefined ? base.jitter : millis("jitter", input.jitter),
    loss: input.loss === undefined ? base.loss : probability("loss", input.loss),
    burstLoss: burst === undefined ? base.burstLoss : burst === false ? undefined : {
      enterBad: probability("burstLoss.enterBad", burst.enterBad),
      leaveBad: probability("burstLoss.leaveBad", burst.leaveBad),
      lossInBad: probability("burstLoss.lossInBad", burst.lossInBad ?? 1),
      lossInGood: probability("burstLoss.lossInGood", burst.lossInGood ?? 0)
    },
    duplicate: input.duplicate === undefined ? base.duplicate : probability("duplicate", input.duplicate),
    reorder: input.reorder === undefined ? base.reorder : probability("reorder", input.reorder),
    reorderDelay: input.reorderDelay === undefined ? base.reorderDelay : millis("reorderDelay", input.reorderDelay),
    corrupt: input.corrupt === undefined ? base.corrupt : probability("corrupt", input.corrupt),
    mtu: mtu as number,
    bandwidth: bandwidth === undefined ? base.bandwidth : bandwidth === false ? undefined : {
      bitsPerSecond: positive("bandwidth.bitsPerSecond", bandwidth.bitsPerSecond),
      queueBytes: bandwidth.queueBytes === undefined
        ? defaultQueueBytes
        : positive("bandwidth.queueBytes", bandwidth.queueBytes)
    }
  }
}

/**
 * Resolves `input` over `base` (default {@link ideal}), checking every field.
 *
 * @since 0.1.0
 * @category constructors
 */
export const conditions = (
  input: ConditionsInput,
  base: Conditions = ideal
): Result.Result<Conditions, ConditionsError> => {
  try {
    return Result.succeed(resolveUnsafe(input, base))
  } catch (error) {
    if (error instanceof ConditionsError) return Result.fail(error)
    throw error
  }
}

/**
 * {@link conditions} that throws the `ConditionsError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const conditionsUnsafe = (input: ConditionsInput, base: Conditions = ideal): Conditions =>
  resolveUnsafe(input, base)

const percent = (p: number): string => `${Math.round(p * 1e6) / 1e4}%`

/**
 * The non-ideal parts of `conditions`, e.g. `latency=10ms jitter=2ms loss=5%`
 * (`ideal` when there are none).
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (c: Conditions): string => {
  const parts: Array<string> = []
  if (c.latency > 0) parts.push(`latency=${c.latency}ms`)
  if (c.jitter > 0) parts.push(`jitter=${c.jitter}ms`)
  if (c.loss > 0) parts.push(`loss=${percent(c.loss)}`)
  if (c.burstLoss !== undefined) {
    const b = c.burstLoss
    parts.push(
      `burst=(enter ${percent(b.enterBad)}, leave ${percent(b.leaveBad)}, bad ${percent(b.lossInBad)}, good ${
        percent(b.lossInGood)
      })`
    )
  }
  if (c.duplicate > 0) parts.push(`duplicate=${percent(c.duplicate)}`)
  if (c.reorder > 0) {
    parts.push(`reorder=${percent(c.reorder)}${c.reorderDelay === undefined ? "" : `+${c.reorderDelay}ms`}`)
  }
  if (c.corrupt > 0) parts.push(`corrupt=${percent(c.corrupt)}`)
  if (c.mtu !== Infinity) parts.push(`mtu=${c.mtu}`)
  if (c.bandwidth !== undefined) {
    parts.push(`bandwidth=${c.bandwidth.bitsPerSecond}bit/s queue=${c.bandwidth.queueBytes}B`)
  }
  return parts.length === 0 ? "ideal" : parts.join(" ")
}

/**
 * Reads a rate written for people: `"5%"`, `"0.5%"` or a plain fraction
 * `"0.05"`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRate = (text: string): Result.Result<number, ConditionsError> => {
  const t = typeof text === "string" ? text.trim() : ""
  const value = t.endsWith("%") ? Number(t.slice(0, -1)) / 100 : Number(t)
  return t.length > 0 && value >= 0 && value <= 1
    ? Result.succeed(value)
    : Result.fail(new ConditionsError({ field: "rate", message: `not a rate (like 5% or 0.05): ${check.show(text)}` }))
}

const units: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 }

/**
 * Reads a duration written for people: `"10ms"`, `"1.5s"`, `"250us"` or a
 * plain number of milliseconds.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseMillis = (text: string): Result.Result<number, ConditionsError> => {
  const match = typeof text === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?\s*$/.exec(text) : null
  return match === null
    ? Result.fail(new ConditionsError({ field: "duration", message: `not a duration (like 10ms): ${check.show(text)}` }))
    : Result.succeed(Number(match[1]) * units[match[2] ?? "ms"]!)
}

const bitRates: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }

/**
 * Reads a bit rate written like netem's: `"1mbit"`, `"500kbit"`, `"2gbit"` or a
 * plain number of bits per second.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseBitRate = (text: string): Result.Result<number, ConditionsError> => {
  const match = typeof text === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)?\s*$/i.exec(text) : null
  const value = match === null ? NaN : Number(match[1]) * bitRates[(match[2] ?? "bit").toLowerCase()]!
  return value > 0
    ? Result.succeed(value)
    : Result.fail(new ConditionsError({ field: "rate", message: `not a bit rate (like 1mbit): ${check.show(text)}` }))
}

/**
 * Conditions from command-line flags (the relay's): `loss`, `delay` (or
 * `latency`), `jitter`, `reorder`, `reorder-delay`, `duplicate`, `corrupt`
 * (rates like `5%`, durations like `10ms`), `mtu` (bytes), `rate` (like
 * `1mbit`) with `queue` (bytes), and `burst` as `enter,leave` rates
 * (Gilbert-Elliott, e.g. `1%,25%`). Unknown flags are an error.
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromFlags = (
  flags: Readonly<Record<string, string | undefined>>
): Result.Result<ConditionsInput, ConditionsError> => {
  if (typeof flags !== "object" || flags === null || Array.isArray(flags)) {
    return Result.fail(new ConditionsError({ field: "flags", message: `flags is an object of flag texts, not ${check.show(flags)}` }))
  }
  const input: { -readonly [K in keyof ConditionsInput]: ConditionsInput[K] } = {}
  const rate = (key: string, text: string) => {
    const r = parseRate(text)
    if (Result.isFailure(r)) throw new ConditionsError({ field: key, message: `--${key}: ${r.failure.message}` })
    return r.success
  }
  const ms = (key: string, text: string) => {
    const r = parseMillis(text)
    if (Result.isFailure(r)) throw new ConditionsError({ field: key, message: `--${key}: ${r.failure.message}` })
    return r.success
  }
  try {
    let bitsPerSecond: number | undefined
    let queueBytes: number | undefined
    for (const [key, text] of Object.entries(flags)) {
      if (text === undefined) continue
      if (typeof text !== "string") {
        throw new ConditionsError({ field: key, message: `--${key}: a flag's value is text, not ${check.show(text)}` })
      }
      switch (key) {
        case "loss":
        case "duplicate":
        case "reorder":
        case "corrupt":
          input[key] = rate(key, text)
          break
        case "delay":
        case "latency":
          input.latency = ms(key, text)
          break
        case "jitter":
          input.jitter = ms(key, text)
          break
        case "reorder-delay":
          input.reorderDelay = ms(key, text)
          break
        case "mtu":
        case "queue": {
          const n = Number(text)
          if (!Number.isSafeInteger(n) || n <= 0) {
            throw new ConditionsError({ field: key, message: `--${key}: a byte count, not ${check.show(text)}` })
          }
          if (key === "mtu") input.mtu = n
          else queueBytes = n
          break
        }
        case "rate": {
          const r = parseBitRate(text)
          if (Result.isFailure(r)) throw r.failure
          bitsPerSecond = r.success
          break
        }
        case "burst": {
          const parts = text.split(",")
          if (parts.length !== 2) {
            throw new ConditionsError({ field: key, message: `--burst: enter,leave rates (like 1%,25%), not ${check.show(text)}` })
          }
          input.burstLoss = { enterBad: rate(key, parts[0]!), leaveBad: rate(key, parts[1]!) }
          break
        }
        default:
          throw new ConditionsError({ field: key, message: `unknown condition --${key}` })
      }
    }
    if (bitsPerSecond !== undefined) input.bandwidth = { bitsPerSecond, queueBytes }
    else if (queueBytes !== undefined) throw new ConditionsError({ field: "queue", message: "--queue needs --rate" })
    return Result.map(conditions(input), () => input)
  } catch (error) {
    if (error instanceof ConditionsError) return Result.fail(error)
    throw error
  }
}

/**
 * Why a link discarded a packet.
 *
 * @since 0.1.0
 * @category models
 */
export type DropReason = "blocked" | "mtu" | "queue" | "burst" | "loss"

/**
 * One arrival of a packet.
 *
 * @since 0.1.0
 * @category models
 */
export interface Delivery {
  /** When it arrives (same time base as `now`). */
  readonly at: number
  /**
   * The bytes that arrive: the caller's buffer itself when unchanged (copy it
   * first if you reuse it), a copy when corrupted; a duplicate has its own copy.
   */
  readonly payload: Uint8Array
  /** `true` for the second copy of a duplicated packet. */
  readonly copy: boolean
  readonly corrupted: boolean
  readonly reordered: boolean
}

/**
 * What a link does with one packet: `dropped` is the reason, or `undefined`
 * and `deliveries` lists one or two arrivals.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict =
  | { readonly id: number; readonly dropped: DropReason; readonly deliveries: readonly [] }
  | { readonly id: number; readonly dropped: undefined; readonly deliveries: ReadonlyArray<Delivery> }

/**
 * Counters of a link since it was made.
 *
 * @since 0.1.0
 * @category models
 */
export interface LinkStats {
  readonly sent: number
  readonly bytesSent: number
  readonly delivered: number
  readonly bytesDelivered: number
  readonly duplicated: number
  readonly corrupted: number
  readonly reordered: number
  /** Drops by reason: the link's own (`DropReason`) and the receiver's (`unbound`, `closed`, …). */
  readonly dropped: Readonly<Record<string, number>>
}

/**
 * One direction of a path with its conditions and its state (generator,
 * burst state, transmit queue, last arrival).
 *
 * @since 0.1.0
 * @category models
 */
export interface Link {
  readonly [TypeId]: TypeId
  /** The name printed in traces, e.g. `"a->b"`. */
  readonly name: string
  readonly conditions: () => Conditions
  /** Replaces the conditions; packets already in flight keep their times. */
  readonly setConditions: (conditions: Conditions) => void
  /** A blocked link drops every datagram (`blocked`) and holds reliable segments. */
  readonly blocked: () => boolean
  readonly setBlocked: (blocked: boolean) => void
  /** Decides the fate of a datagram sent at `now`. */
  readonly transmit: (now: number, payload: Uint8Array) => Verdict
  /**
   * A segment of a reliable stream sent at `now`: it sees latency, jitter
   * (order kept) and bandwidth, never loss, corruption, duplication,
   * reordering or the MTU. Returns its arrival time, or `undefined` while
   * the link is blocked (the caller holds it and sends it again after the
   * heal, passing the same `id`).
   */
  readonly transmitReliable: (
    now: number,
    payload: Uint8Array,
    label: string,
    id?: number
  ) => { readonly id: number; readonly at: number | undefined }
  /** Records an arrival (stats and trace); the caller calls it when the delivery happens. */
  readonly delivered: (at: number, id: number, payload: Uint8Array, detail?: string) => void
  /** Records a packet discarded at the receiving end (`unbound`, `closed`, `rcvbuf`, …). */
  readonly discarded: (at: number, id: number, payload: Uint8Array, reason: string) => void
  readonly stats: () => LinkStats
}

const quantize = (t: number): number => Math.round(t * 1000) / 1000

class LinkImpl implements Link {
  readonly [TypeId] = TypeId
  readonly name: string
  readonly trace: Trace.Recorder | undefined
  readonly prng: Prng.Prng
  readonly streamPrng: Prng.Prng
  c: Conditions
  isBlocked = false
  bad = false
  txFree = -Infinity
  lastArrival = -Infinity
  lastReliable = -Infinity
  ids = 0
  sent = 0
  bytesSent = 0
  deliveredCount = 0
  bytesDelivered = 0
  duplicated = 0
  corrupted = 0
  reordered = 0
  drops: Record<string, number> = {}

  constructor(c: Conditions, seed: number, name: string, trace: Trace.Recorder | undefined) {
    this.c = c
    this.name = name
    this.trace = trace
    this.prng = Prng.make(Prng.deriveSeed(seed, "datagrams"))
    this.streamPrng = Prng.make(Prng.deriveSeed(seed, "stream"))
  }

  conditions = (): Conditions => this.c
  setConditions = (c: Conditions): void => {
    this.c = c
  }
  blocked = (): boolean => this.isBlocked
  setBlocked = (blocked: boolean): void => {
    this.isBlocked = blocked
  }

  record(at: number, kind: Trace.EventKind, id: number, payload: Uint8Array, detail?: string): void {
    this.trace?.record({ at, kind, link: this.name, id, size: payload.length, hash: Trace.hash(payload), detail })
  }

  drop(now: number, id: number, payload: Uint8Array, reason: DropReason): Verdict {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1
    this.record(now, "drop", id, payload, reason)
    return { id, dropped: reason, deliveries: [] }
  }

  transmit = (now: number, payload: Uint8Array): Verdict => {
    const c = this.c
    const r = this.prng
    const uBurst = r.float()
    const uBurstLoss = r.float()
    const uLoss = r.float()
    const uCorrupt = r.float()
    const uBit = r.float()
    const uJitter = r.float()
    const uReorder = r.float()
    const uDuplicate = r.float()
    const uCopyJitter = r.float()
    const id = ++this.ids
    const size = payload.length
    this.sent++
    this.bytesSent += size
    this.record(now, "send", id, payload)

    const burst = c.burstLoss
    if (burst !== undefined) {
      if (this.bad) {
        if (uBurst < burst.leaveBad) this.bad = false
      } else if (uBurst < burst.enterBad) {
        this.bad = true
      }
    }
    if (this.isBlocked) return this.drop(now, id, payload, "blocked")
    if (size > c.mtu) return this.drop(now, id, payload, "mtu")
    let departs = now
    const bandwidth = c.bandwidth
    if (bandwidth !== undefined) {
      const start = Math.max(now, this.txFree)
      const backlog = (start - now) * bandwidth.bitsPerSecond / 8000
      if (backlog > 0 && backlog + size > bandwidth.queueBytes) return this.drop(now, id, payload, "queue")
      this.txFree = start + size * 8000 / bandwidth.bitsPerSecond
      departs = this.txFree
    }
    if (burst !== undefined && uBurstLoss < (this.bad ? burst.lossInBad : burst.lossInGood)) {
      return this.drop(now, id, payload, "burst")
    }
    if (uLoss < c.loss) return this.drop(now, id, payload, "loss")

    let bytes = payload
    let corrupted = false
    if (uCorrupt < c.corrupt && size > 0) {
      const bit = Math.floor(uBit * size * 8)
      bytes = payload.slice()
      bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7))
      corrupted = true
      this.corrupted++
      this.record(now, "corrupt", id, bytes, `bit ${bit}`)
    }
    const delay = Math.max(0, c.latency + (2 * uJitter - 1) * c.jitter)
    let at: number
    const reordered = uReorder < c.reorder
    if (reordered) {
      at = quantize(departs + delay + (c.reorderDelay ?? Math.max(1, c.latency)))
      this.reordered++
    } else {
      at = quantize(Math.max(departs + delay, this.lastArrival))
      this.lastArrival = at
    }
    const first: Delivery = { at, payload: bytes, copy: false, corrupted, reordered }
    if (uDuplicate < c.duplicate) {
      const copyDelay = Math.max(0, c.latency + (2 * uCopyJitter - 1) * c.jitter)
      const copyAt = quantize(Math.max(departs + copyDelay, this.lastArrival))
      this.lastArrival = copyAt
      this.duplicated++
      this.record(now, "duplicate", id, bytes)
      return {
        id,
        dropped: undefined,
        deliveries: [first, { at: copyAt, payload: bytes.slice(), copy: true, corrupted, reordered: false }]
      }
    }
    return { id, dropped: undefined, deliveries: [first] }
  }

  transmitReliable = (
    now: number,
    payload: Uint8Array,
    label: string,
    heldId?: number
  ): { readonly id: number; readonly at: number | undefined } => {
    const uJitter = this.streamPrng.float()
    const id = heldId ?? ++this.ids
    if (heldId === undefined) {
      this.sent++
      this.bytesSent += payload.length
      this.record(now, "send", id, payload, label)
    } else {
      this.record(now, "send", id, payload, `${label} released`)
    }
    if (this.isBlocked) {
      this.record(now, "hold", id, payload, label)
      return { id, at: undefined }
    }
    const c = this.c
    let departs = now
    if (c.bandwidth !== undefined) {
      this.txFree = Math.max(now, this.txFree) + payload.length * 8000 / c.bandwidth.bitsPerSecond
      departs = this.txFree
    }
    const delay = Math.max(0, c.latency + (2 * uJitter - 1) * c.jitter)
    const at = quantize(Math.max(departs + delay, this.lastReliable))
    this.lastReliable = at
    return { id, at }
  }

  delivered = (at: number, id: number, payload: Uint8Array, detail?: string): void => {
    this.deliveredCount++
    this.bytesDelivered += payload.length
    this.record(at, "deliver", id, payload, detail)
  }

  discarded = (at: number, id: number, payload: Uint8Array, reason: string): void => {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1
    this.record(at, "drop", id, payload, reason)
  }

  stats = (): LinkStats => ({
    sent: this.sent,
    bytesSent: this.bytesSent,
    delivered: this.deliveredCount,
    bytesDelivered: this.bytesDelivered,
    duplicated: this.duplicated,
    corrupted: this.corrupted,
    reordered: this.reordered,
    dropped: { ...this.drops }
  })
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LinkOptions {
  /** The seed of this link's generators (derive one per link with `Prng.deriveSeed`). */
  readonly seed: number
  readonly conditions?: Conditions | undefined
  /** Printed in traces; default `"link"`. */
  readonly name?: string | undefined
  /** Where send, drop, corrupt, duplicate, hold and deliver events go. */
  readonly trace?: Trace.Recorder | undefined
}

/**
 * A link in its initial state (good burst state, idle transmitter).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLink = (options: LinkOptions): Link =>
  new LinkImpl(options.conditions ?? ideal, options.seed, options.name ?? "link", options.trace)

/**
 * The two directions of a path between hosts `a` and `b` (default
 * `"client"` and `"server"`), each seeded from `seed` and its name
 * (`"client->server"`), exactly as a `SimNet` seeds its links: a `SimNet`
 * with hosts of the same names, the same seed and the same conditions makes
 * the same decision for the n-th packet of each direction. `forward` and
 * `backward` override `conditions` per direction.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePath = (options: {
  readonly seed: number
  readonly a?: string | undefined
  readonly b?: string | undefined
  readonly conditions?: ConditionsInput | undefined
  readonly forward?: ConditionsInput | undefined
  readonly backward?: ConditionsInput | undefined
  readonly trace?: Trace.Recorder | undefined
}): { readonly forward: Link; readonly backward: Link } => {
  const a = options.a ?? "client"
  const b = options.b ?? "server"
  const base = conditionsUnsafe(options.conditions ?? {})
  const make = (from: string, to: string, input: ConditionsInput | undefined) =>
    makeLink({
      seed: Prng.deriveSeed(options.seed, `${from}->${to}`),
      conditions: conditionsUnsafe(input ?? {}, base),
      name: `${from}->${to}`,
      trace: options.trace
    })
  return { forward: make(a, b, options.forward), backward: make(b, a, options.backward) }
}
