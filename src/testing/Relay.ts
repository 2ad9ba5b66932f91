/**
 * A lossy UDP relay over real sockets: it forwards datagrams between clients and
 * one target through the same pure impairment links `SimNet` uses
 * (`Impairment.makePath`), so a loss, delay, jitter, reordering, duplication or
 * bandwidth setting means the same in a simulation and across processes. This
 * kernel has no `netem`; the relay is how cross-process tests and benchmarks of
 * RUDP and DCCP see a bad network.
 *
 * Clients send to `relay.address`; each client address gets its own upstream
 * socket connected to `target`, so replies find their way back (like a NAT).
 * All clients share the path's two links. The `mtu` condition drops a datagram
 * longer than it (counted as `mtu`), as a path of that MTU does with Don't
 * Fragment set: `mtu: 1472` is an Ethernet path for IPv4 UDP payloads, and
 * what path MTU discovery through the relay must find. Delivery times are kept with a
 * timerfd; the sockets and the timer are driven by the `Reactor`. A datagram
 * that cannot be sent when due (socket buffer full) is dropped and counted.
 *
 *     npm run relay -- --to 127.0.0.1:7001 --listen 127.0.0.1:7000 \
 *       --loss 5% --delay 10ms --jitter 2ms --reorder 1% --duplicate 0.5% --mtu 1472 --seed 7
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Latch from "effect/Latch"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as observe from "../internal/observe.ts"
import { IoError, make as ioError } from "../IoError.ts"
import * as Metrics from "../Metrics.ts"
import type { ReceivedDatagram } from "../net/UdpSocket.ts"
import * as Resolver from "../net/Resolver.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as UdpSocket from "../net/UdpSocket.ts"
import * as Timer from "../poll/Timer.ts"
import { Reactor, type Registration } from "../reactor/Reactor.ts"
import { WouldBlock } from "../WouldBlock.ts"
import * as Impairment from "./Impairment.ts"
import type * as Trace from "./Trace.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/testing/Relay"

/**
 * @since 0.1.0
 * @category models
 */
export interface RelayOptions {
  /** Where clients send (default `127.0.0.1:0`). */
  readonly listen?: SocketAddress.Input | undefined
  /** Where the relay forwards to. */
  readonly target: SocketAddress.Input
  /** Seed of both links (default 1). */
  readonly seed?: number | undefined
  /** Conditions of both directions… */
  readonly conditions?: Impairment.ConditionsInput | undefined
  /** …or of each. */
  readonly forward?: Impairment.ConditionsInput | undefined
  readonly backward?: Impairment.ConditionsInput | undefined
  readonly trace?: Trace.Recorder | undefined
  /**
   * Deliveries due within this many milliseconds of each other go out together,
   * on one timer expiry (default 0.05). Larger values cost less CPU per datagram
   * at high rates; a datagram may leave up to this much early.
   */
  readonly resolutionMs?: number | undefined
  /**
   * Clients (source addresses) with an upstream socket at once (default 1024).
   * A new client past this closes the least recently active one's socket
   * (counted in `evictedClients`): a flood from many sources costs the relay a
   * bounded number of descriptors.
   */
  readonly maxClients?: number | undefined
  /**
   * Datagrams waiting for their delivery time (default 65536); beyond this a
   * datagram is dropped and counted in `overflowDrops`.
   */
  readonly maxInFlight?: number | undefined
}

/**
 * Counters of a running relay.
 *
 * @since 0.1.0
 * @category models
 */
export interface RelayStats {
  /** Client → target. */
  readonly forward: Impairment.LinkStats
  /** Target → client. */
  readonly backward: Impairment.LinkStats
  readonly clients: number
  /** Datagrams waiting for their delivery time. */
  readonly inFlight: number
  /** Due datagrams the relay could not send (socket buffer full, send error). */
  readonly sendFailures: number
  /** Clients whose upstream socket was closed to make room (`maxClients`). */
  readonly evictedClients: number
  /** Datagrams dropped because `maxInFlight` were already waiting. */
  readonly overflowDrops: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Relay {
  readonly [TypeId]: typeof TypeId
  /** The address clients send to. */
  readonly address: SocketAddress.SocketAddress
  /** The two links, to change conditions or block a direction while running. */
  readonly forward: Impairment.Link
  readonly backward: Impairment.Link
  readonly stats: () => RelayStats
}

interface Scheduled {
  readonly at: number
  readonly seq: number
  readonly id: number
  readonly link: Impairment.Link
  readonly payload: Uint8Array
  readonly send: (payload: Uint8Array) => number | WouldBlock | IoError
}

/** A binary min-heap on (at, seq): equal times leave in the order they were scheduled. */
class Schedule {
  readonly items: Array<Scheduled> = []
  get size(): number {
    return this.items.length
  }
  peek(): Scheduled | undefined {
    return this.items[0]
  }
  push(x: Scheduled): void {
    const a = this.items
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(a[i]!, a[p]!)) break
      ;[a[i], a[p]] = [a[p]!, a[i]!]
      i = p
    }
  }
  pop(): Scheduled | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1, r = l + 1
        let m = i
        if (l < a.length && before(a[l]!, a[m]!)) m = l
        if (r < a.length && before(a[r]!, a[m]!)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}
const before = (x: Scheduled, y: Scheduled) => x.at < y.at || (x.at === y.at && x.seq < y.seq)

const now = () => performance.now()

/** The first bad option (the address options are checked where they are parsed), or `undefined`. */
const checkOptions = (o: RelayOptions): string | undefined => {
  const bad = check.requiredObject("options", o) ?? check.first(
    check.number("resolutionMs", o.resolutionMs, 0, 1000),
    check.integer("maxClients", o.maxClients, 1, 1 << 20),
    check.integer("maxInFlight", o.maxInFlight, 1, 1 << 24),
    o.seed === undefined || (typeof o.seed === "number" && Number.isSafeInteger(o.seed))
      ? undefined
      : `seed is a safe integer, not ${check.show(o.seed)}`
  )
  if (bad !== undefined) return bad
  for (const [name, input] of [["conditions", o.conditions], ["forward", o.forward], ["backward", o.backward]] as const) {
    if (input === undefined) continue
    const c = Impairment.conditions(input)
    if (Result.isFailure(c)) return `${name}: ${c.failure.message}`
  }
  return undefined
}

/**
 * Starts a relay for the Scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: RelayOptions): Effect.Effect<Relay, IoError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const bad = checkOptions(options)
    if (bad !== undefined) return yield* Effect.fail(ioError("InvalidInput", "relay", bad))
    const parsed = SocketAddress.classify(options.target, "connect")
    if (parsed instanceof IoError) return yield* Effect.fail(parsed)
    if (!(parsed instanceof SocketAddress.HostName) && !SocketAddress.isInet(parsed)) {
      return yield* Effect.fail(ioError("InvalidInput", "connect", `target: ${check.show(options.target)} is not an IPv4 or IPv6 address`))
    }
    // A host name is resolved once, here (the first address).
    const target = yield* Resolver.resolveFirst(options.target, "connect", { inet: true })
    const resolution = options.resolutionMs ?? 0.05
    const maxClients = options.maxClients ?? 1024
    const maxInFlight = options.maxInFlight ?? 65536
    const path = Impairment.makePath({
      seed: options.seed ?? 1,
      conditions: options.conditions,
      forward: options.forward,
      backward: options.backward,
      trace: options.trace
    })
    const front = yield* UdpSocket.bind(options.listen ?? "127.0.0.1:0")
    const frontRegistration = yield* reactor.register(front)
    const address = front.localAddr()
    if (address instanceof IoError) return yield* Effect.fail(address)
    const timer = yield* Timer.unregistered()
    const timerRegistration = yield* reactor.register(timer)
    const scope = yield* Effect.scope

    const schedule = new Schedule()
    const pending = Latch.makeUnsafe(false)
    let seq = 0
    let sendFailures = 0
    let evictedClients = 0
    let overflowDrops = 0

    /** Passes one received datagram through `link` and schedules its deliveries. */
    const admit = (link: Impairment.Link, payload: Uint8Array, send: Scheduled["send"]) => {
      // The batch buffer is reused by the next receive: the link must see a copy it may keep.
      const verdict = link.transmit(now(), payload.slice())
      for (const d of verdict.deliveries) {
        if (schedule.size >= maxInFlight) {
          overflowDrops++
          continue
        }
        const item = { at: d.at, seq: seq++, id: verdict.id, link, payload: d.payload, send }
        schedule.push(item)
        if (schedule.peek() === item) timer.setMillis(Math.max(0.001, item.at - now()))
      }
      if (schedule.size > 0) pending.openUnsafe()
    }

    // --- target side: one connected upstream socket per client, at most maxClients -----
    interface Upstream {
      readonly socket: UdpSocket.UdpSocket
      readonly scope: Scope.Closeable
      lastUsed: number
    }
    const upstreams = new Map<string, Upstream>()
    /** Closes the least recently active client's upstream socket. */
    const evictOne = Effect.suspend(() => {
      let oldest: [string, Upstream] | undefined
      for (const entry of upstreams) if (oldest === undefined || entry[1].lastUsed < oldest[1].lastUsed) oldest = entry
      if (oldest === undefined) return Effect.void
      upstreams.delete(oldest[0])
      evictedClients++
      return Scope.close(oldest[1].scope, Exit.void)
    })
    const upstreamFor = (client: SocketAddress.SocketAddress) =>
      Effect.gen(function*() {
        const key = SocketAddress.format(client)
        const known = upstreams.get(key)
        if (known !== undefined) {
          known.lastUsed = now()
          return known
        }
        if (upstreams.size >= maxClients) yield* evictOne
        const clientScope = yield* Scope.fork(scope)
        const opened = Effect.gen(function*() {
          const socket = yield* UdpSocket.bind(SocketAddress.isInet(target) && target._tag === "InetAddressV6" ? "[::]:0" : "0.0.0.0:0")
          const e = socket.connect(target)
          if (e !== undefined) return yield* Effect.fail(e)
          const registration = yield* reactor.register(socket)
          const toClient = (payload: Uint8Array) => front.sendTo(payload, client)
          yield* Effect.forkScoped(receiveLoop(registration, socket, (d) => admit(path.backward, d.payload, toClient)))
          return socket
        }).pipe((self) => Scope.provide(self, clientScope))
        const socket = yield* Effect.onError(opened, () => Scope.close(clientScope, Exit.void))
        const entry: Upstream = { socket, scope: clientScope, lastUsed: now() }
        upstreams.set(key, entry)
        return entry
      })

    const receiveLoop = (
      registration: Registration,
      socket: UdpSocket.UdpSocket,
      onDatagram: (d: ReceivedDatagram) => void
    ): Effect.Effect<void, IoError> =>
      Effect.forever(
        Effect.map(registration.readIo(() => socket.recvBatch()), (batch) => {
          for (const d of batch) onDatagram(d)
        }).pipe(
          // An ICMP report (the target not listening yet, or restarting) comes back on the
          // next receive of the connected socket; the target's later replies must still be read.
          Effect.catchIf((e) => e.kind === "ConnectionRefused", () => Effect.void)
        ),
        { disableYield: true }
      ).pipe(Effect.catchIf((e) => e.kind === "Closed", () => Effect.void))

    // --- client side -------------------------------------------------------------
    const frontLoop = Effect.forever(
      Effect.flatMap(frontRegistration.readIo(() => front.recvBatch()), (batch) =>
        Effect.forEach(batch, (d) =>
          Effect.match(upstreamFor(d.address), {
            // No upstream socket for this client (out of fds, say): the datagram is lost, counted.
            onFailure: () => void sendFailures++,
            onSuccess: (up) => admit(path.forward, d.payload, (p) => up.socket.send(p))
          }), { discard: true })),
      { disableYield: true }
    )

    // --- delivery: send what is due, sleep on the timerfd until the next -------------
    const deliverLoop = Effect.forever(
      Effect.gen(function*() {
        yield* pending.await
        const t = now() + resolution
        for (let item = schedule.peek(); item !== undefined && item.at <= t; item = schedule.peek()) {
          schedule.pop()
          const r = item.send(item.payload)
          if (typeof r === "number") item.link.delivered(item.at, item.id, item.payload)
          else sendFailures++
        }
        const next = schedule.peek()
        if (next === undefined) {
          pending.closeUnsafe()
          return
        }
        timer.setMillis(Math.max(0.001, next.at - now()))
        yield* timerRegistration.readIo(() => timer.read())
      }),
      { disableYield: true }
    )

    yield* Effect.forkScoped(Effect.catch(frontLoop, () => Effect.void))
    yield* Effect.forkScoped(Effect.catch(deliverLoop, () => Effect.void))

    const relay: Relay = {
      [TypeId]: TypeId,
      address,
      forward: path.forward,
      backward: path.backward,
      stats: () => ({
        forward: path.forward.stats(),
        backward: path.backward.stats(),
        clients: upstreams.size,
        inFlight: schedule.size,
        sendFailures,
        evictedClients,
        overflowDrops
      })
    }
    yield* observe.joinScoped(relayGroup(yield* Effect.context<never>()), relay)
    return relay
  })

const sumOf = (r: Readonly<Record<string, number>>): number => {
  let n = 0
  for (const k in r) n += r[k]!
  return n
}

/** The relays of a registry: their drops, read from `stats()` at snapshot time (docs/observability.md). */
const relayGroup = (context: Context.Context<never>): observe.Tally<Relay> =>
  observe.group(
    context,
    "relay",
    () =>
      new observe.Tally<Relay>([
        (r) => r.stats().overflowDrops,
        (r) => r.stats().sendFailures,
        (r) => {
          const s = r.stats()
          return sumOf(s.forward.dropped) + sumOf(s.backward.dropped)
        }
      ]),
    (g) => [
      observe.series(Metrics.dropsTotal, { transport: "relay", reason: "overflow" }, () => g.total(0)),
      observe.series(Metrics.dropsTotal, { transport: "relay", reason: "send_failure" }, () => g.total(1)),
      observe.series(Metrics.dropsTotal, { transport: "relay", reason: "impaired" }, () => g.total(2))
    ]
  )
