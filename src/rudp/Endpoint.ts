/**
 * A reliable-UDP endpoint: the rudp crate's `Endpoint` on Effect. It wraps any
 * connected datagram pair (`UdpLike`: our UDP socket, `SimNet.pair()`, a test's
 * mock) and sends each message with its own guarantee (`Guarantee.None`,
 * `Order`, `Delivery`), grouping small messages into shared datagrams.
 *
 * ```ts
 * const ep = yield* Endpoint.make(udp)                       // scoped
 * yield* ep.write(bytes("Hello")); yield* ep.write(bytes(", there."))
 * yield* ep.sendWritten(Guarantee.Order)
 * yield* ep.sendPayload(Guarantee.Delivery, bytes("General Kenobi!"))
 * const msg = yield* ep.recv                                 // Uint8Array | undefined
 * yield* ep.asSet((set) => Effect.all([set.sendPayload(Guarantee.Delivery, a), set.sendPayload(Guarantee.None, b)]))
 * yield* ep.maintain
 * ```
 *
 * Two ways to drive it (`config.drive`):
 *
 * - `"user"` (default) — the crate's contract: nothing happens between calls.
 *   `recv`, `sendPayload`, `maintain` and the waiting calls (`take`, `close`,
 *   `connected`) do the receiving, acknowledging, resending and heartbeats.
 * - `"reactor"` — fibers owned by the endpoint's Scope run the engine on
 *   readiness and on its timers; the user only sends and receives. Sends are
 *   flushed once the sending fiber yields, so a burst of small messages leaves
 *   in full datagrams.
 *
 * Lifecycle: `make` sends the handshake and returns at once (both ends of a
 * pair are made before either is used, as with the crate); `connected` waits
 * for it. Closing the Scope closes gracefully — what is queued or
 * unacknowledged is delivered first, within `closeTimeout` — or, when the Scope
 * closes on interruption or failure, aborts at once.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as check from "../internal/check.ts"
import * as observe from "../internal/observe.ts"
import type { IoError } from "../IoError.ts"
import type { Reactor } from "../reactor/Reactor.ts"
import { WouldBlock } from "../WouldBlock.ts"
import type { Config as EngineConfig, ConfigInput, RandomSource } from "./engine/Config.ts"
import { type CloseReason, type EngineInfo, RudpEngine } from "./engine/Connection.ts"
import { type Guarantee, isGuarantee } from "./Guarantee.ts"
import { Alarm, clockMillis, Driver, Signal } from "./internal/Driver.ts"
import { engineConfig, fitToSocket } from "./internal/EndpointConfig.ts"
import { endpointFigures, rudpGroup } from "./internal/metrics.ts"
import { Written } from "./internal/Written.ts"
import { fromCloseReason, make as rudpError, messageTooLarge, RudpError } from "./RudpError.ts"
import * as RudpMetrics from "./RudpMetrics.ts"
import * as UdpLike from "./UdpLike.ts"

/** @internal */
export { engineConfig } from "./internal/EndpointConfig.ts"

/** Why a send's arguments are refused, if they are: a payload of another type would be sent as garbage. */
const badSendInput = (g: unknown, bytes: unknown): RudpError | undefined =>
  !isGuarantee(g)
    ? rudpError("InvalidInput", `sendPayload: the guarantee is Guarantee.None, Order or Delivery, not ${check.show(g)}`)
    : !(bytes instanceof Uint8Array)
    ? notBytes("sendPayload", bytes)
    : undefined

/** The UdpLikes an endpoint runs on now. */
const carrying = new WeakSet<object>()

const notBytes = (call: string, bytes: unknown): RudpError =>
  rudpError("InvalidInput", `${call}: the payload is a Uint8Array, not ${typeof bytes === "string" ? `a string (encode it first)` : check.show(bytes)}`)

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/rudp/Endpoint" as const

/**
 * @since 0.2.0
 * @category guards
 */
export const isEndpoint = (u: unknown): u is Endpoint => typeof u === "object" && u !== null && TypeId in u

type Millis = Duration.Input

/**
 * The endpoint's configuration (every field optional). Durations take any
 * `Duration.Input` (a number is milliseconds). The engine's defaults are in
 * docs/rudp.md, "Tuning".
 *
 * @since 0.2.0
 * @category models
 */
export interface Config extends
  Omit<
    ConfigInput,
    "random" | "maxAckDelay" | "idleTimeout" | "heartbeat" | "initialRtt" | "closeTimeout" | "fragmentTimeout" | "resendScan"
  >
{
  /** `"user"` (default: nothing happens between calls) or `"reactor"` (the endpoint's own fibers drive it). */
  readonly drive?: "user" | "reactor" | undefined
  /**
   * User-driven only: hold small messages until a datagram fills or the next
   * `recv`/`maintain`/`flush`, instead of sending each at once (default false).
   * Reactor-driven endpoints always group.
   */
  readonly grouping?: boolean | undefined
  /** What `asSet` does with written, unsent bytes: fail (default), clear them, or send them as the set's first payload. */
  readonly newSetUnsent?: "fail" | "clear" | "into-set" | undefined
  readonly maxAckDelay?: Millis | undefined
  readonly idleTimeout?: Millis | undefined
  readonly heartbeat?: Millis | undefined
  readonly initialRtt?: Millis | undefined
  readonly closeTimeout?: Millis | undefined
  readonly fragmentTimeout?: Millis | undefined
  readonly resendScan?: Millis | undefined
  /** 32-bit random numbers for connection ids (default: `node:crypto`). */
  readonly random?: RandomSource | undefined
  /** Publish the endpoint's figures as Effect `Metric`s (`RudpMetrics`) every `interval`, with attribute `endpoint: label`. */
  readonly metrics?: RudpMetrics.Options | undefined
}

/**
 * What sends messages: the endpoint itself, or the set of `asSet`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Sender {
  /** Appends bytes to the message being written (`io::Write`); fails past the maximum message size. */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, RudpError>
  /** Sends what was written as one message with guarantee `g`, and clears it. Returns the message id. */
  readonly sendWritten: (g: Guarantee) => Effect.Effect<number, RudpError>
  /** Discards what was written. */
  readonly clearWritten: Effect.Effect<void>
  /** Sends one message; waits while the send queue is full. Returns the message id. */
  readonly sendPayload: (g: Guarantee, bytes: Uint8Array) => Effect.Effect<number, RudpError>
  /** `sendPayload` without waiting: `WouldBlock` when the send queue is full. */
  readonly trySendPayload: (g: Guarantee, bytes: Uint8Array) => Effect.Effect<number | WouldBlock, RudpError>
}

/**
 * Counters and figures of an endpoint: the engine's (`EngineInfo`: RTT, bytes
 * in flight, losses, retransmissions, queue lengths, drops by reason) and the
 * transport's.
 *
 * @since 0.2.0
 * @category models
 */
export interface Stats extends EngineInfo {
  readonly transport: {
    readonly datagramsIn: number
    readonly datagramsOut: number
    /** Datagrams the socket could not take (buffer full), truncated at receive, ICMP refusals (fast path only). */
    readonly sendDropped: number
    readonly truncated: number
    readonly refused: number
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Endpoint extends Sender {
  readonly [TypeId]: typeof TypeId
  readonly drive: "user" | "reactor"
  /** Waits until the handshake is done. */
  readonly connected: Effect.Effect<void, RudpError>
  /**
   * The next message, without waiting (`undefined`: none yet) — a view valid
   * until the next call on the endpoint (`recvCopy` for one to keep). Fails
   * once the connection is over and every message was read.
   */
  readonly recv: Effect.Effect<Uint8Array | undefined, RudpError>
  /** `recv`, returning a compact copy the caller owns. */
  readonly recvCopy: Effect.Effect<Uint8Array | undefined, RudpError>
  /**
   * Waits for the next message. It is never overwritten (a view into an
   * append-only arena chunk, shared with other messages: `slice()` it to keep
   * one message without the rest).
   */
  readonly take: Effect.Effect<Uint8Array, RudpError>
  /**
   * Received messages (as `take` returns them), in delivery order. Ends when
   * the connection closes gracefully (either side); fails otherwise.
   */
  readonly messages: Stream.Stream<Uint8Array, RudpError>
  /**
   * Runs `f` with a sender whose messages form one set: the peer may deliver
   * them in any order among themselves. Other sends on the endpoint wait
   * until the set is done.
   */
  readonly asSet: <A, E, R>(f: (set: Sender) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | RudpError, R>
  /** Receives, acknowledges, resends and sends heartbeats as due (user-driven endpoints need it when idle). */
  readonly maintain: Effect.Effect<void, RudpError>
  /** Sends what is queued now (grouped messages included). */
  readonly flush: Effect.Effect<void, RudpError>
  /** Waits until Delivery message `id` (a send's result) was acknowledged by the peer. */
  readonly acknowledged: (id: number) => Effect.Effect<void, RudpError>
  /**
   * Closes gracefully: no new messages; what is queued or unacknowledged is
   * delivered first (within `closeTimeout`, else `CloseTimedOut`).
   */
  readonly close: Effect.Effect<void, RudpError>
  /** Ends at once, telling the peer. */
  readonly abort: Effect.Effect<void>
  /** The reason the connection ended, once it did. */
  readonly closeReason: Effect.Effect<CloseReason | undefined>
  readonly stats: Effect.Effect<Stats>
}

/**
 * Makes an endpoint on `udp` for the Scope's lifetime and sends its
 * handshake. A bad configuration fails with kind `InvalidConfig`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = <E>(udp: UdpLike.UdpLike<E>, config: Config = {}): Effect.Effect<Endpoint, RudpError, Scope.Scope> =>
  makeWith(udp, config, (now, cfg) => new RudpEngine(now, cfg))

/**
 * A peer of an endpoint server: the server's one driver fiber feeds its
 * engine, runs its timers and sends its output; the endpoint forks no fibers.
 *
 * @internal
 */
export interface Hosted<E> {
  /** The peer's driver, made by the server (its engine took the first Initial). */
  readonly driver: Driver<E>
  /** Asks the server to send what the engine has, settle its events and re-arm its timer, once the calling fiber yields. */
  readonly wake: () => void
}

/**
 * `make` with the engine made by the caller (an endpoint server makes a
 * connection's engine from its first Initial) and a hook for the end of the
 * connection — or, for a server's peer, driven by the server (`hosted`;
 * `udp`, `engineOf` and `onClosed` are then the driver's).
 *
 * @internal
 */
export const makeWith = <E>(
  udp: UdpLike.UdpLike<E>,
  config: Config,
  engineOf: (now: number, config: EngineConfig) => RudpEngine,
  onClosed?: (() => void) | undefined,
  hosted?: Hosted<E> | undefined
): Effect.Effect<Endpoint, RudpError, Scope.Scope> =>
  Effect.gen(function*() {
    // A server validated its configuration once; its peers share the engine configuration.
    const cfg = hosted !== undefined ? hosted.driver.engine.config : fitToSocket(yield* engineConfig(config), udp)
    if (cfg instanceof RudpError) return yield* Effect.fail(cfg)
    const drive = config.drive ?? "user"
    if (drive !== "user" && drive !== "reactor") return yield* Effect.fail(rudpError("InvalidConfig", `drive is "user" or "reactor", not ${String(drive)}`))
    const newSetUnsent = config.newSetUnsent ?? "fail"
    const grouping = drive === "reactor" || config.grouping === true
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const runFork = Effect.runForkWith(context)
    const fork = (effect: Effect.Effect<void>): Fiber.Fiber<void> => runFork(effect)
    const nowMs = clockMillis(clock)
    if (hosted !== undefined && drive !== "reactor") return yield* Effect.fail(rudpError("InvalidConfig", `a server's peers are driven by the server: drive is "reactor", not ${String(drive)}`))
    if (hosted === undefined) {
      // Two endpoints reading one socket would each take the other's datagrams.
      if (carrying.has(udp)) {
        return yield* Effect.fail(rudpError("InvalidInput", "this UdpLike already carries an endpoint: one endpoint per UdpLike until its Scope closes (EndpointServer serves many peers on one socket)"))
      }
      carrying.add(udp)
      yield* Effect.addFinalizer(() => Effect.sync(() => carrying.delete(udp)))
    }
    const engine = hosted?.driver.engine ?? engineOf(nowMs(), cfg)
    const driver = hosted?.driver ?? new Driver(engine, udp, nowMs)
    if (hosted === undefined) driver.onClosed = onClosed
    const wake = hosted?.wake
    yield* observe.joinScoped(rudpGroup(context, driver).endpoints, driver)
    const written = new Written()
    const setDone = new Signal()
    const flushWanted = new Signal()
    let flushPending = false
    const alarm = new Alarm(clock, fork, driver.now)

    // While the peer's CLOSE is being answered (draining), the engine knows why it ends before the driver does.
    const endError = (): RudpError =>
      driver.endError() ?? (engine.closeReason !== undefined ? fromCloseReason(engine.closeReason) : rudpError("Closed", "the endpoint was closed"))

    // --- progress -----------------------------------------------------------------------

    /**
     * User mode: a datagram is waiting (set by the readiness watcher, cleared by
     * the next round, which drains the transport).
     */
    let readable = false
    const drained = new Signal()

    /** One round: take what arrived, run due timers, send, settle events. */
    const wasDrained = (): void => {
      if (!readable) return
      readable = false
      drained.notify()
    }
    const cycle: Effect.Effect<void> = Effect.suspend(() => {
      if (driver.fast !== undefined) {
        driver.feedSync()
        wasDrained()
        driver.tick()
        driver.flushSync()
        driver.settle()
        return Effect.void
      }
      return Effect.andThen(
        Effect.andThen(driver.feed, Effect.sync(() => (wasDrained(), driver.tick()))),
        Effect.andThen(driver.flush, Effect.sync(() => driver.settle()))
      )
    })

    /** After an input in the reactor mode: send what is due and re-arm the timer. */
    const afterInputReactor = (): void => {
      if (wake !== undefined) return wake()
      driver.settle()
      alarm.pullIn(engine.pollTimeout())
    }

    /**
     * Reactor mode, fast path: takes what the socket holds; returns how many
     * datagrams. A socket found empty is not tried again before something was
     * sent (which may bring an answer) or a readiness event came.
     */
    let emptyAt = -1
    const receiveNow = (): number => {
      if (emptyAt === driver.datagramsOut) return 0
      const n = driver.feedSync()
      if (n === 0) {
        emptyAt = driver.datagramsOut
        return 0
      }
      driver.tick()
      driver.flushSync()
      afterInputReactor()
      return n
    }
    const becameReadable = (): void => {
      emptyAt = -1
    }

    /**
     * Asks the reactor-mode flusher to send once `fiber` yields: the wake-up is
     * a task on the fiber's own dispatcher, so it runs after the fiber suspends
     * or uses up its turn (resuming the flusher directly would run it at once,
     * inside the sender, and send each message alone).
     */
    const wakeFlusher = (): void => flushWanted.notify()
    const scheduleFlush = (fiber: Fiber.Fiber<unknown, unknown>): void => {
      if (wake !== undefined) return wake()
      if (flushPending) return
      flushPending = true
      fiber.currentDispatcher.scheduleTask(wakeFlusher, 0)
    }
    const requestFlush: Effect.Effect<void> = Effect.withFiber((fiber) => {
      scheduleFlush(fiber)
      return Effect.void
    })

    /** Sends now: synchronously on the fast path, else the Effect to run. */
    const flushNow = (after: () => void): Effect.Effect<void> | undefined => {
      if (driver.fast !== undefined) {
        driver.flushSync()
        after()
        return undefined
      }
      return Effect.andThen(driver.flush, Effect.sync(after))
    }
    const settle = (): void => driver.settle()

    /**
     * After a send. Reactor mode: a message sent with nothing in flight starts a
     * burst (or answers a request), so it goes at once; the messages that
     * follow it while it is in flight are grouped until the sender yields. User
     * mode: at once, unless grouping holds it back. Returns an Effect only when
     * a transport without the fast path must send now.
     */
    const afterSendNow = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<void> | undefined => {
      if (drive === "reactor") {
        if (wake !== undefined) {
          wake()
          return undefined
        }
        if (engine.bytesInFlight === 0 && !flushPending) return flushNow(afterInputReactor)
        scheduleFlush(fiber)
        return undefined
      }
      if (grouping && engine.outbox.queuedBytes < engine.mtu && !engine.needsFlush) return undefined
      return flushNow(settle)
    }
    const afterSend: Effect.Effect<void> = Effect.withFiber((fiber) => afterSendNow(fiber) ?? Effect.void)

    /**
     * Waits for something to happen: reactor mode — any progress of the
     * engine; user mode — a datagram or the engine's next deadline, then one
     * round of progress.
     */
    const waitForProgress: Effect.Effect<void> = Effect.suspend(() => {
      if (drive === "reactor") return driver.progress.wait
      if (readable) return cycle
      // The alarm returns at the engine's next deadline, or when the watcher sees a datagram.
      return Effect.andThen(alarm.until(engine.pollTimeout()), cycle)
    })

    const failIfEnded = <A>(f: () => Effect.Effect<A, RudpError>): Effect.Effect<A, RudpError> =>
      Effect.suspend((): Effect.Effect<A, RudpError> => driver.failure !== undefined ? Effect.fail(driver.failure) : f())

    // --- sending ------------------------------------------------------------------------

    /** One send attempt: the id, `WouldBlock` (queue full), or `"wait-set"` (another fiber's set is open). */
    const trySend = (g: Guarantee, bytes: Uint8Array, inSet: boolean): Effect.Effect<number | WouldBlock | "wait-set", RudpError> =>
      Effect.withFiber((fiber): Effect.Effect<number | WouldBlock | "wait-set", RudpError> => {
        const bad = badSendInput(g, bytes)
        if (bad !== undefined) return Effect.fail(bad)
        if (driver.failure !== undefined) return Effect.fail(driver.failure)
        if (!inSet && engine.inSet) return fiber === setFiber ? Effect.fail(insideSet("sendPayload")) : Effect.succeed("wait-set" as const)
        const r = engine.send(driver.now(), bytes, g)
        if (typeof r === "number") {
          const after = afterSendNow(fiber)
          return after === undefined ? Effect.succeed(r) : Effect.as(after, r)
        }
        if (r === "too-large") return Effect.fail(messageTooLarge(bytes.length, engine.maxMessageSize))
        if (r === "closed") return Effect.fail(endError())
        return Effect.succeed(WouldBlock)
      })

    const sendWaiting = (g: Guarantee, bytes: Uint8Array, inSet: boolean): Effect.Effect<number, RudpError> =>
      Effect.flatMap(trySend(g, bytes, inSet), (r) => {
        if (typeof r === "number") return Effect.succeed(r)
        if (r === "wait-set") return Effect.andThen(setDone.wait, sendWaiting(g, bytes, inSet))
        // The send queue is full: wait for room (the engine says "writable"), driving it in user mode.
        const wait = drive === "reactor" ? Effect.andThen(requestFlush, driver.writable.wait) : waitForProgress
        return Effect.andThen(wait, sendWaiting(g, bytes, inSet))
      })

    const sender = (inSet: boolean): Sender => ({
      write: (bytes) =>
        failIfEnded(() => {
          if (!(bytes instanceof Uint8Array)) return Effect.fail(notBytes("write", bytes))
          if (written.length + bytes.length > engine.maxMessageSize) {
            return Effect.fail(messageTooLarge(written.length + bytes.length, engine.maxMessageSize))
          }
          written.append(bytes)
          return Effect.void
        }),
      sendWritten: (g) =>
        Effect.suspend(() =>
          Effect.tap(sendWaiting(g, written.view(), inSet), () =>
            Effect.sync(() => {
              written.length = 0
            }))
        ),
      clearWritten: Effect.sync(() => {
        written.length = 0
      }),
      sendPayload: (g, bytes) => sendWaiting(g, bytes, inSet),
      trySendPayload: (g, bytes) =>
        Effect.flatMap(trySend(g, bytes, inSet), (r) => r === "wait-set" ? Effect.succeed(WouldBlock) : Effect.succeed(r))
    })

    /** The fiber running the open set's `f`: a send of the endpoint's own from it would wait for itself. */
    let setFiber: Fiber.Fiber<unknown, unknown> | undefined
    const insideSet = (call: string) =>
      rudpError("InvalidInput", `${call} of the endpoint inside its own asSet would wait for the set to end: send through the set's sender (asSet((set) => set.sendPayload(…)))`)

    const asSet = <A, E2, R>(f: (set: Sender) => Effect.Effect<A, E2, R>): Effect.Effect<A, E2 | RudpError, R> =>
      Effect.withFiber((fiber): Effect.Effect<A, E2 | RudpError, R> => {
        if (engine.inSet) return fiber === setFiber ? Effect.fail(insideSet("asSet")) : Effect.andThen(setDone.wait, asSet(f))
        if (written.length > 0) {
          if (newSetUnsent === "fail") {
            return Effect.fail(rudpError("WrittenNotSent", `${written.length} written bytes were not sent when the set began`))
          }
          if (newSetUnsent === "clear") written.length = 0
        }
        engine.openSet()
        setFiber = fiber
        return Effect.ensuring(
          f(sender(true)),
          Effect.suspend(() => {
            setFiber = undefined
            engine.closeSet()
            setDone.notify()
            return afterSend
          })
        )
      })

    // --- receiving ----------------------------------------------------------------------

    /** The next message, or `undefined`; fails once the connection is over and drained. */
    const pollOne = (): Uint8Array | undefined | RudpError => {
      const m = engine.pollMessage()
      if (m !== undefined) return m.payload
      if (driver.failure !== undefined) return driver.failure
      if (driver.closedReason !== undefined || driver.peerClosing) return endError()
      return undefined
    }

    /** Taking messages may open the receive window: tell the peer. */
    const afterTakeNow = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<void> | undefined => {
      if (!engine.needsFlush) return undefined
      if (drive === "reactor") {
        scheduleFlush(fiber)
        return undefined
      }
      return flushNow(settle)
    }
    const afterTake: Effect.Effect<void> = Effect.withFiber((fiber) => afterTakeNow(fiber) ?? Effect.void)

    /** The message `pollOne` gave, as an Effect (with the window update it may call for). */
    const deliver = (fiber: Fiber.Fiber<unknown, unknown>, m: Uint8Array | undefined | RudpError): Effect.Effect<Uint8Array | undefined, RudpError> => {
      if (m instanceof RudpError) return Effect.fail(m)
      const after = m === undefined ? undefined : afterTakeNow(fiber)
      return after === undefined ? Effect.succeed(m) : Effect.as(after, m)
    }

    const recv: Effect.Effect<Uint8Array | undefined, RudpError> = Effect.withFiber((fiber) => {
      const first = pollOne()
      if (first !== undefined || drive === "reactor") return deliver(fiber, first)
      // User-driven: nothing happens between calls, so this call takes what arrived.
      return Effect.flatMap(cycle, () => deliver(fiber, pollOne()))
    })

    const take: Effect.Effect<Uint8Array, RudpError> = Effect.withFiber((fiber): Effect.Effect<Uint8Array, RudpError> => {
      if (drive === "reactor") {
        let m = pollOne()
        // Nothing released yet: look at the socket first (the answer may be there already).
        if (m === undefined && wake === undefined && driver.fast !== undefined && receiveNow() > 0) m = pollOne()
        if (m === undefined) return Effect.andThen(driver.messages.wait, take)
        return deliver(fiber, m) as Effect.Effect<Uint8Array, RudpError>
      }
      return Effect.flatMap(recv, (m) => m !== undefined ? Effect.succeed(m) : Effect.andThen(waitForProgress, take))
    })

    /** `take` for the stream: `undefined` at a graceful end. */
    const takeOrEnd: Effect.Effect<Uint8Array | undefined, RudpError> = Effect.catch(take, (e) =>
      e.kind === "Closed" || (e.kind === "PeerClosed" && e.code === 0) ? Effect.succeed(undefined) : Effect.fail(e))

    const pullBatch: Effect.Effect<readonly [Uint8Array, ...Array<Uint8Array>], RudpError | Cause.Done> = Effect.flatMap(
      takeOrEnd,
      (first) => {
        if (first === undefined) return Cause.done()
        const batch: [Uint8Array, ...Array<Uint8Array>] = [first]
        for (let i = 0; i < 255; i++) {
          const m = engine.pollMessage()
          if (m === undefined) break
          batch.push(m.payload)
        }
        return Effect.as(afterTake, batch)
      }
    )

    // --- lifecycle ----------------------------------------------------------------------

    const waitUntil = (done: () => boolean): Effect.Effect<void, RudpError> =>
      Effect.suspend((): Effect.Effect<void, RudpError> => {
        if (done()) return Effect.void
        if (driver.failure !== undefined) return Effect.fail(driver.failure)
        if (engine.isClosed) return Effect.fail(endError())
        return Effect.andThen(waitForProgress, waitUntil(done))
      })


    /** Starts a graceful close and waits until `done` (the CLOSE is out, or the closing period is over). */
    const closeUntil = (done: () => boolean): Effect.Effect<void, RudpError> => Effect.suspend(() => {
      if (driver.failure !== undefined) return Effect.fail(driver.failure)
      engine.close(driver.now())
      const kick = drive === "reactor" ? Effect.andThen(requestFlush, Effect.sync(afterInputReactor)) : cycle
      return Effect.andThen(
        kick,
        Effect.flatMap(waitUntil(done), () => {
          const reason = engine.closeReason
          if (reason === undefined || reason.kind === "local" || reason.kind === "peer") return Effect.void
          return Effect.fail(endError())
        })
      )
    })

    const close = closeUntil(() => engine.isClosed)
    // The CLOSE is out (not only due): the Scope may close the socket after this.
    const closeSent = () => engine.closeTransmitted || engine.state === "closed"

    const abort: Effect.Effect<void> = Effect.suspend(() => {
      engine.abort(driver.now())
      return Effect.andThen(driver.flush, Effect.sync(() => driver.settle()))
    })

    // --- reactor mode fibers --------------------------------------------------------------

    if (drive === "reactor" && hosted === undefined) {
      const readable = Effect.matchEffect(udp.readable, {
        onFailure: (e) => Effect.fail(e),
        onSuccess: () => Effect.void
      })
      // The receiver takes what is queued before it waits for readiness: an answer often
      // arrives while the fibers it woke still run (on one core, the peer runs inside our
      // send), and then no readiness event is needed for it.
      const receiver = driver.fast !== undefined
        ? Effect.forever(
          Effect.suspend(() => receiveNow() > 0 ? Effect.void : Effect.andThen(readable, Effect.sync(becameReadable))),
          { disableYield: true }
        )
        : Effect.forever(
          Effect.andThen(
            readable,
            Effect.andThen(Effect.andThen(driver.feed, Effect.sync(() => driver.tick())), Effect.andThen(driver.flush, Effect.sync(afterInputReactor)))
          ),
          { disableYield: true }
        )
      const timer = Effect.forever(
        Effect.andThen(
          Effect.suspend(() => alarm.until(engine.pollTimeout())),
          Effect.suspend(() => {
            driver.tick()
            return Effect.andThen(driver.flush, Effect.sync(afterInputReactor))
          })
        ),
        { disableYield: true }
      )
      const flusher = Effect.forever(
        Effect.andThen(
          Effect.suspend(() => flushPending ? Effect.void : flushWanted.wait),
          Effect.suspend(() => {
            flushPending = false
            return Effect.andThen(driver.flush, Effect.sync(afterInputReactor))
          })
        ),
        { disableYield: true }
      )
      const guard = <A, X>(f: Effect.Effect<A, X>) =>
        Effect.catchCause(f, (cause) =>
          Effect.sync(() => {
            if (!Cause.hasInterruptsOnly(cause) && driver.failure === undefined) {
              driver.failure = rudpError("Transport", `the datagram transport failed: ${Cause.pretty(cause)}`)
              driver.settle()
              driver.messages.notify()
              driver.writable.notify()
            }
          }))
      yield* Effect.forkScoped(guard(receiver))
      yield* Effect.forkScoped(guard(timer))
      yield* Effect.forkScoped(guard(flusher))
    }

    if (drive === "user") {
      // The readiness watcher: it only notes that a datagram is waiting and wakes a waiting
      // call; it never runs the engine (nothing happens between the user's calls). It waits
      // for the next round to drain the transport before it waits for readiness again.
      const watcher = Effect.forever(
        Effect.andThen(
          udp.readable,
          Effect.suspend(() => {
            readable = true
            alarm.wake()
            // The woken call runs at once (resuming a fiber runs it inside the resumer) and
            // may have drained the transport already.
            return readable ? drained.wait : Effect.void
          })
        ),
        { disableYield: true }
      )
      yield* Effect.forkScoped(Effect.ignore(watcher))
    }

    // Closing the Scope: gracefully after success (until the CLOSE is out; the closing period
    // is not waited for), at once after interruption or failure.
    yield* Effect.addFinalizer((exit) =>
      Effect.suspend(() => {
        if (engine.isClosed || driver.failure !== undefined) return Effect.void
        if (Exit.isFailure(exit)) return abort
        const limit = Duration.millis(cfg.closeTimeout + 1000)
        return Effect.timeout(closeUntil(closeSent), limit).pipe(Effect.catch(() => abort))
      }).pipe(Effect.ensuring(Effect.sync(() => alarm.pullIn(undefined))))
    )

    if (config.metrics !== undefined) yield* RudpMetrics.publish(config.metrics, () => endpointFigures(engine, driver))

    // The handshake starts now.
    yield* drive === "reactor" ? Effect.andThen(requestFlush, Effect.sync(afterInputReactor)) : Effect.andThen(driver.flush, Effect.sync(() => driver.settle()))

    const endpoint: Endpoint = {
      [TypeId]: TypeId,
      drive,
      ...sender(false),
      connected: waitUntil(() => driver.connected),
      recv,
      recvCopy: Effect.map(recv, (m) => m?.slice()),
      take,
      messages: Stream.fromPull(Effect.succeed(pullBatch)),
      asSet,
      maintain: failIfEnded(() => drive === "reactor" ? Effect.andThen(requestFlush, Effect.sync(afterInputReactor)) : cycle),
      flush: failIfEnded(() => Effect.andThen(driver.flush, Effect.sync(() => driver.settle()))),
      acknowledged: (id) =>
        Effect.suspend(() => {
          if (!engine.wasSent(id)) {
            return Effect.fail(rudpError("InvalidInput", `acknowledged: id is the id a send of this endpoint returned, not ${check.show(id)}`))
          }
          return Effect.andThen(waitUntil(() => engine.isAcknowledged(id)), () => {
            // dropped, not acknowledged: longer than the peer accepts (learnt in the handshake)
            const limit = engine.droppedTooLarge(id)
            return limit === undefined ? Effect.void : Effect.fail(new RudpError({
              kind: "MessageTooLarge",
              detail: `message ${id} was dropped: it is longer than the peer's maxMessageSize of ${limit} bytes`,
              limit
            }))
          })
        }),
      close,
      abort,
      closeReason: Effect.sync(() => engine.closeReason),
      stats: Effect.sync(() => {
        const fast = driver.fast?.stats()
        return {
          ...engine.info(),
          transport: {
            datagramsIn: driver.datagramsIn,
            datagramsOut: driver.datagramsOut,
            sendDropped: fast?.sendDropped ?? 0,
            truncated: fast?.truncated ?? 0,
            refused: fast?.refused ?? 0
          }
        }
      })
    }
    return endpoint
  })

/**
 * Options of `connect`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectOptions extends UdpLike.ConnectOptions {
  readonly config?: Config | undefined
}

/**
 * Binds a UDP socket, connects it to `peer` and makes an endpoint on it (the
 * socket and the endpoint close with the Scope). Socket errors fail with kind
 * `Transport`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const connect = (options: ConnectOptions): Effect.Effect<Endpoint, RudpError, Reactor | Scope.Scope> =>
  typeof options !== "object" || options === null
    ? Effect.fail(rudpError("InvalidInput", `Endpoint.connect: options is an object ({ peer, bind?, config? }), not ${check.show(options)}`))
    : Effect.flatMap(
      Effect.mapError(UdpLike.connect({ ...options, maxDatagram: options.maxDatagram ?? options.config?.maxMtu ?? Math.max(options.config?.mtu ?? 0, UdpLike.DEFAULT_MAX_DATAGRAM) }), (e: IoError) =>
        new RudpError({ kind: "Transport", detail: e.message, cause: e })),
      (udp) => make(udp, options.config)
    )
