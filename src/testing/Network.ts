/**
 * The synchronous core of `SimNet`: hosts, one `Impairment.Link` per
 * direction between two hosts, an event queue in virtual time, scripted
 * faults, a trace. No Effect, no clock, no I/O: time moves only when the
 * caller says so (`advance`, `advanceTo`, `drive`), so a sans-IO protocol
 * engine can be tested in a plain loop, the way quinn-proto's test `Pair`
 * does:
 *
 * ```ts
 * const net = Network.make({ seed: 7, latency: 10, loss: 0.1 })
 * net.addDeadline(() => client.pollTimeout())
 * while (!done) {
 *   const step = net.drive()          // jump to the next arrival or deadline
 *   if (step.reason === "idle") break
 *   client.handleTimeout(net.now())   // …then let each engine react
 * }
 * ```
 *
 * Hosts are named (`"a"`, `"server"`) and get IPv4 addresses 10.0.0.1,
 * 10.0.0.2, … in order of first use (a host may also be named by its address,
 * `"10.0.0.9"`). Traffic from a host to itself (or to 127.0.0.1) uses an
 * ideal loopback link unless a selector names it exactly (`"a->a"`).
 *
 * Links are selected by strings: `"a->b"` (one direction), `"a<->b"` (both),
 * `"a->*"`, `"*->b"`, `"*"` (every link but loopback). Faults and condition
 * changes apply to the links that exist and to those made later.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as check from "../internal/check.ts"
import * as Impairment from "./Impairment.ts"
import { EventQueue } from "./internal/eventQueue.ts"
import { parseSelector, type Selector } from "./internal/selectors.ts"
import * as Prng from "./Prng.ts"
import * as Trace from "./Trace.ts"

/**
 * @since 0.1.0
 * @category type IDs
 */
export const TypeId = "~effect-mio/testing/Network" as const

/**
 * @since 0.1.0
 * @category type IDs
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category guards
 */
export const isNetwork = (u: unknown): u is Network => typeof u === "object" && u !== null && TypeId in u

/**
 * A scripted fault. Build them with {@link dropAll}, {@link heal},
 * {@link partition} and {@link setConditions}.
 *
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | { readonly _tag: "DropAll"; readonly link: string }
  | { readonly _tag: "Heal"; readonly link: string }
  | {
    readonly _tag: "Partition"
    readonly a: string | ReadonlyArray<string>
    readonly b: string | ReadonlyArray<string>
  }
  | { readonly _tag: "SetConditions"; readonly link: string; readonly conditions: Impairment.ConditionsInput }

/**
 * Drop every datagram on the selected links, and hold every stream segment,
 * until healed.
 *
 * @since 0.1.0
 * @category faults
 */
export const dropAll = (link: string): Fault => ({ _tag: "DropAll", link })

/**
 * Unblock the selected links (default: all) and release held stream segments.
 *
 * @since 0.1.0
 * @category faults
 */
export const heal = (link: string = "*"): Fault => ({ _tag: "Heal", link })

/**
 * `dropAll` in both directions between every host of `a` and every host of `b`.
 *
 * @since 0.1.0
 * @category faults
 */
export const partition = (a: string | ReadonlyArray<string>, b: string | ReadonlyArray<string>): Fault => ({
  _tag: "Partition",
  a,
  b
})

/**
 * Change the conditions of the selected links (fields not given are kept).
 *
 * @since 0.1.0
 * @category faults
 */
export const setConditions = (link: string, conditions: Impairment.ConditionsInput): Fault => ({
  _tag: "SetConditions",
  link,
  conditions
})

/**
 * @since 0.1.0
 * @category models
 */
export interface NetworkOptions extends Impairment.ConditionsInput {
  /** The run's seed (a safe integer); default 1. Every random choice follows from it. */
  readonly seed?: number | undefined
  /** Conditions per selector, over the defaults given at the top level. */
  readonly links?: Readonly<Record<string, Impairment.ConditionsInput>> | undefined
  /** Faults at given times (milliseconds). */
  readonly script?: ReadonlyArray<{ readonly at: Duration.Input; readonly fault: Fault }> | undefined
  /** Trace recording; `false` records nothing (digest included). */
  readonly trace?: Trace.RecorderOptions | false | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Host {
  readonly name: string
  readonly ip: string
}

/**
 * Where a packet goes when it arrives. `accept` runs first and may refuse it
 * with a reason (recorded as a drop: `unbound`, `closed`, `rcvbuf`, …); then
 * `deliver` runs. The trace records the arrival before `deliver` runs, so
 * whatever `deliver` causes is traced after it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Receiver {
  readonly accept?: ((payload: Uint8Array) => string | undefined) | undefined
  readonly deliver: (payload: Uint8Array) => void
}

/**
 * What one `drive()` did: the time it reached, why it stopped there, and how
 * many timed events ran.
 *
 * @since 0.1.0
 * @category models
 */
export interface DriveStep {
  readonly now: number
  readonly reason: "event" | "deadline" | "idle"
  readonly processed: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Network {
  readonly [TypeId]: TypeId
  readonly seed: number
  readonly trace: Trace.Recorder
  /** Virtual time in milliseconds since the network was made. */
  readonly now: () => number
  /** The host named `spec` (or with address `spec`), made on first use. */
  readonly host: (spec: string) => Host
  /** The host with this address, if any. */
  readonly hostByIp: (ip: string) => Host | undefined
  /** The host a packet from `from` to address `ip` reaches (loopback addresses reach `from`). */
  readonly route: (from: Host, ip: string) => Host | undefined
  readonly hosts: () => ReadonlyArray<Host>
  /** The link from one host to another (by name), made on first use. */
  readonly link: (from: string, to: string) => Impairment.Link
  /** Sends a datagram now; it meets the link's conditions and reaches `receiver` at its arrival time. */
  readonly transmit: (from: string, to: string, payload: Uint8Array, receiver: Receiver) => void
  /** Sends a reliable stream segment now (latency, jitter in order, bandwidth; held while blocked). */
  readonly transmitReliable: (from: string, to: string, payload: Uint8Array, label: string, receiver: Receiver) => void
  /** Runs `action` at virtual time `at` (in order with arrivals); returns its cancellation. */
  readonly schedule: (at: number, action: () => void) => () => void
  readonly nextEventTime: () => number | undefined
  /** Runs everything due up to `t` and sets the time to `t`; returns how many events ran. */
  readonly advanceTo: (t: number) => number
  readonly advance: (ms: number) => number
  /** Registers a deadline source (e.g. an engine's `pollTimeout`); returns its removal. */
  readonly addDeadline: (source: () => number | undefined) => () => void
  /** The earliest deadline of the registered sources. */
  readonly nextDeadline: () => number | undefined
  /**
   * Jumps to the next arrival or deadline, whichever comes first, and runs
   * the events due then. A deadline at or before now stops at once
   * (`reason: "deadline"`): the engine owning it must handle its timeout.
   */
  readonly drive: () => DriveStep
  /** Drives until nothing is scheduled and no deadline is set, at most `maxSteps` steps. */
  readonly runUntilIdle: (maxSteps?: number) => DriveStep
  readonly inject: (fault: Fault) => void
  /** Injects `fault` at virtual time `time`. */
  readonly at: (time: number, fault: Fault) => void
  readonly dropAll: (link: string) => void
  readonly heal: (link?: string) => void
  readonly partition: (a: string | ReadonlyArray<string>, b: string | ReadonlyArray<string>) => void
  readonly setConditions: (link: string, conditions: Impairment.ConditionsInput) => void
  /** Claims `port` (0: an ephemeral one) of `proto` on `host` for `owner`; `undefined` if taken. */
  readonly bind: (proto: string, host: string, port: number, owner: unknown) => number | undefined
  /** Releases a port claimed by `owner`. */
  readonly unbind: (proto: string, host: string, port: number, owner: unknown) => void
  /** The owner of a port, if bound. */
  readonly bound: (proto: string, host: string, port: number) => unknown
  readonly stats: (from: string, to: string) => Impairment.LinkStats
}

type Rule =
  | { readonly selectors: ReadonlyArray<Selector>; readonly kind: "conditions"; readonly input: Impairment.ConditionsInput }
  | { readonly selectors: ReadonlyArray<Selector>; readonly kind: "block"; readonly blocked: boolean }

const matches = (s: Selector, from: string, to: string): boolean =>
  from === to ? s.from === from && s.to === to : (s.from === "*" || s.from === from) && (s.to === "*" || s.to === to)

const isLoopbackIp = (ip: string): boolean => ip.startsWith("127.") || ip === "::1" || ip === "0.0.0.0" || ip === "::"

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/**
 * Why `spec` cannot name a host — a name with `->`, `*` or `:`, an empty
 * one, a loopback or malformed IPv4 address — or `undefined`.
 *
 * @internal
 */
export const hostProblem = (spec: unknown): string | undefined => {
  if (typeof spec !== "string") return `a host is a name or an IPv4 address, not ${check.show(spec)}`
  const m = ipv4.exec(spec)
  if (m !== null) {
    return m.slice(1).some((octet) => Number(octet) > 255) || isLoopbackIp(spec) ? `not a host address: ${check.show(spec)}` : undefined
  }
  return spec.length === 0 || spec.includes("->") || spec.includes("*") || spec.includes(":")
    ? `not a host name: ${check.show(spec)}`
    : undefined
}

const faultDetail = (fault: Fault): string => {
  switch (fault._tag) {
    case "DropAll":
      return "dropAll"
    case "Heal":
      return "heal"
    case "Partition":
      return "partition"
    case "SetConditions":
      return `conditions ${Impairment.describe(Impairment.conditionsUnsafe(fault.conditions))}`
  }
}

interface Held {
  readonly id: number
  readonly payload: Uint8Array
  readonly label: string
  readonly receiver: Receiver
}

class NetworkImpl implements Network {
  readonly [TypeId] = TypeId
  readonly seed: number
  readonly trace: Trace.Recorder
  readonly defaults: Impairment.Conditions
  readonly rules: Array<Rule> = []
  readonly queue = new EventQueue()
  readonly byName = new Map<string, Host>()
  readonly byIp = new Map<string, Host>()
  readonly links = new Map<string, { readonly from: string; readonly to: string; readonly link: Impairment.Link }>()
  readonly held = new Map<Impairment.Link, Array<Held>>()
  readonly ports = new Map<string, unknown>()
  readonly ephemeral = new Map<string, number>()
  readonly deadlines: Array<() => number | undefined> = []
  traceEnabled = true
  nextIp = 1
  time = 0
  target = 0
  processing = false

  constructor(options: NetworkOptions) {
    this.seed = Prng.normalizeSeed(options.seed ?? 1)
    this.traceEnabled = options.trace !== false
    this.trace = Trace.makeRecorder(options.trace === false ? { limit: 0 } : options.trace)
    this.defaults = Impairment.conditionsUnsafe(options)
    for (const [selector, input] of Object.entries(options.links ?? {})) {
      // validate now, so a bad entry fails at construction
      Impairment.conditionsUnsafe(input, this.defaults)
      this.rules.push({ selectors: parseSelector(selector), kind: "conditions", input })
    }
    for (const { at, fault } of options.script ?? []) {
      this.at(Duration.toMillis(at), fault)
    }
  }

  now = (): number => this.time

  host = (spec: string): Host => {
    const existing = this.byName.get(spec) ?? this.byIp.get(spec)
    if (existing !== undefined) return existing
    const problem = hostProblem(spec)
    if (problem !== undefined) throw new RangeError(problem)
    let ip: string
    if (ipv4.test(spec)) {
      ip = spec
    } else {
      do {
        const n = this.nextIp++
        ip = `10.0.${Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`
      } while (this.byIp.has(ip))
    }
    const host: Host = { name: spec, ip }
    this.byName.set(spec, host)
    this.byIp.set(ip, host)
    return host
  }

  hostByIp = (ip: string): Host | undefined => this.byIp.get(ip)

  route = (from: Host, ip: string): Host | undefined => isLoopbackIp(ip) ? from : this.byIp.get(ip)

  hosts = (): ReadonlyArray<Host> => [...this.byName.values()]

  link = (from: string, to: string): Impairment.Link => {
    const key = `${from}->${to}`
    const existing = this.links.get(key)
    if (existing !== undefined) return existing.link
    this.host(from)
    this.host(to)
    let conditions = from === to ? Impairment.ideal : this.defaults
    let blocked = false
    for (const rule of this.rules) {
      if (!rule.selectors.some((s) => matches(s, from, to))) continue
      if (rule.kind === "conditions") conditions = Impairment.conditionsUnsafe(rule.input, conditions)
      else blocked = rule.blocked
    }
    const link = Impairment.makeLink({
      seed: Prng.deriveSeed(this.seed, key),
      conditions,
      name: key,
      trace: this.traceEnabled ? this.trace : undefined
    })
    link.setBlocked(blocked)
    this.links.set(key, { from, to, link })
    return link
  }

  schedule = (at: number, action: () => void): () => void => {
    const entry = this.queue.push(Math.max(at, this.time), action)
    return () => {
      entry.cancelled = true
    }
  }

  private arrive(link: Impairment.Link, id: number, payload: Uint8Array, receiver: Receiver, detail?: string): void {
    const refused = receiver.accept?.(payload)
    if (refused !== undefined) {
      link.discarded(this.time, id, payload, refused)
      return
    }
    link.delivered(this.time, id, payload, detail)
    receiver.deliver(payload)
  }

  transmit = (from: string, to: string, payload: Uint8Array, receiver: Receiver): void => {
    const link = this.link(from, to)
    const verdict = link.transmit(this.time, payload.slice())
    for (const d of verdict.deliveries) {
      this.queue.push(d.at, () => this.arrive(link, verdict.id, d.payload, receiver, d.copy ? "copy" : undefined))
    }
  }

  transmitReliable = (from: string, to: string, payload: Uint8Array, label: string, receiver: Receiver): void => {
    const link = this.link(from, to)
    const bytes = payload.slice()
    this.sendReliable(link, bytes, label, receiver, undefined)
  }

  private sendReliable(
    link: Impairment.Link,
    payload: Uint8Array,
    label: string,
    receiver: Receiver,
    heldId: number | undefined
  ): void {
    const { at, id } = link.transmitReliable(this.time, payload, label, heldId)
    if (at === undefined) {
      let list = this.held.get(link)
      if (list === undefined) this.held.set(link, list = [])
      list.push({ id, payload, label, receiver })
      return
    }
    this.queue.push(at, () => this.arrive(link, id, payload, receiver, label))
  }

  nextEventTime = (): number | undefined => this.queue.peek()?.at

  advanceTo = (t: number): number => {
    if (t > this.target) this.target = t
    if (this.processing) return 0
    this.processing = true
    let processed = 0
    try {
      while (true) {
        const next = this.queue.peek()
        if (next === undefined || next.at > this.target) break
        this.queue.pop()
        if (next.at > this.time) this.time = next.at
        processed++
        next.action()
      }
      if (this.target > this.time) this.time = this.target
    } finally {
      this.processing = false
    }
    return processed
  }

  advance = (ms: number): number => this.advanceTo(this.time + ms)

  addDeadline = (source: () => number | undefined): () => void => {
    this.deadlines.push(source)
    return () => {
      const i = this.deadlines.indexOf(source)
      if (i !== -1) this.deadlines.splice(i, 1)
    }
  }

  nextDeadline = (): number | undefined => {
    let min: number | undefined
    for (const source of this.deadlines) {
      const d = source()
      if (d !== undefined && (min === undefined || d < min)) min = d
    }
    return min
  }

  drive = (): DriveStep => {
    const event = this.nextEventTime()
    const deadline = this.nextDeadline()
    if (event === undefined && deadline === undefined) return { now: this.time, reason: "idle", processed: 0 }
    if (deadline !== undefined && (event === undefined || deadline < event)) {
      const processed = this.advanceTo(Math.max(this.time, deadline))
      return { now: this.time, reason: "deadline", processed }
    }
    const processed = this.advanceTo(event!)
    return { now: this.time, reason: "event", processed }
  }

  runUntilIdle = (maxSteps = 1_000_000): DriveStep => {
    let processed = 0
    for (let i = 0; i < maxSteps; i++) {
      const step = this.drive()
      processed += step.processed
      if (step.reason === "idle") return { now: this.time, reason: "idle", processed }
    }
    throw new RangeError(`the network was not idle after ${maxSteps} steps (a deadline that never passes?)`)
  }

  private addRule(rule: Rule): void {
    this.rules.push(rule)
    for (const { from, to, link } of this.links.values()) {
      if (!rule.selectors.some((s) => matches(s, from, to))) continue
      if (rule.kind === "conditions") {
        link.setConditions(Impairment.conditionsUnsafe(rule.input, link.conditions()))
      } else if (link.blocked() !== rule.blocked) {
        link.setBlocked(rule.blocked)
        if (!rule.blocked) this.release(link)
      }
    }
  }

  private release(link: Impairment.Link): void {
    const list = this.held.get(link)
    if (list === undefined) return
    this.held.delete(link)
    for (const h of list) this.sendReliable(link, h.payload, h.label, h.receiver, h.id)
  }

  private selectorsOf(fault: Fault): ReadonlyArray<Selector> {
    if (fault._tag !== "Partition") return parseSelector(fault.link)
    const as = typeof fault.a === "string" ? [fault.a] : fault.a
    const bs = typeof fault.b === "string" ? [fault.b] : fault.b
    return as.flatMap((a) => bs.flatMap((b) => [{ from: a, to: b }, { from: b, to: a }]))
  }

  inject = (fault: Fault): void => {
    const selectors = this.selectorsOf(fault)
    if (fault._tag === "SetConditions") Impairment.conditionsUnsafe(fault.conditions)
    const name = fault._tag === "Partition"
      ? `${[fault.a].flat().join(",")}<->${[fault.b].flat().join(",")}`
      : fault.link
    if (this.traceEnabled) {
      this.trace.record({ at: this.time, kind: "fault", link: name, id: 0, size: 0, hash: "--------", detail: faultDetail(fault) })
    }
    switch (fault._tag) {
      case "DropAll":
      case "Partition":
        return this.addRule({ selectors, kind: "block", blocked: true })
      case "Heal":
        return this.addRule({ selectors, kind: "block", blocked: false })
      case "SetConditions":
        return this.addRule({ selectors, kind: "conditions", input: fault.conditions })
    }
  }

  at = (time: number, fault: Fault): void => {
    // validate at once rather than when it fires
    this.selectorsOf(fault)
    if (fault._tag === "SetConditions") Impairment.conditionsUnsafe(fault.conditions)
    this.schedule(time, () => this.inject(fault))
  }

  dropAll = (link: string): void => this.inject(dropAll(link))
  heal = (link?: string): void => this.inject(heal(link))
  partition = (a: string | ReadonlyArray<string>, b: string | ReadonlyArray<string>): void =>
    this.inject(partition(a, b))
  setConditions = (link: string, conditions: Impairment.ConditionsInput): void =>
    this.inject(setConditions(link, conditions))

  bind = (proto: string, host: string, port: number, owner: unknown): number | undefined => {
    const h = this.host(host)
    if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new RangeError(`not a port: ${port}`)
    if (port === 0) {
      const key = `${proto} ${h.name}`
      let next = this.ephemeral.get(key) ?? 49152
      for (let tries = 0; tries < 16384; tries++) {
        const candidate = next
        next = next === 65535 ? 49152 : next + 1
        if (!this.ports.has(`${proto} ${h.name} ${candidate}`)) {
          this.ephemeral.set(key, next)
          this.ports.set(`${proto} ${h.name} ${candidate}`, owner)
          return candidate
        }
      }
      return undefined
    }
    const key = `${proto} ${h.name} ${port}`
    if (this.ports.has(key)) return undefined
    this.ports.set(key, owner)
    return port
  }

  unbind = (proto: string, host: string, port: number, owner: unknown): void => {
    const key = `${proto} ${this.host(host).name} ${port}`
    if (this.ports.get(key) === owner) this.ports.delete(key)
  }

  bound = (proto: string, host: string, port: number): unknown => {
    const h = this.byName.get(host) ?? this.byIp.get(host)
    return h === undefined ? undefined : this.ports.get(`${proto} ${h.name} ${port}`)
  }

  stats = (from: string, to: string): Impairment.LinkStats => this.link(from, to).stats()
}

/**
 * A network at time 0 with the given defaults, per-link conditions and
 * script. Throws `Impairment.ConditionsError` for a condition out of range
 * and `RangeError` for a malformed selector or seed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: NetworkOptions = {}): Network => new NetworkImpl(options)
