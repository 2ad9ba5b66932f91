/**
 * One fiber drives every peer of an endpoint server. Each turn it
 *
 * 1. receives a bounded batch of datagrams and routes each straight into its
 *    peer's engine (the server's `onDatagram`);
 * 2. runs the timers that are due, taken from one `DeadlineHeap` keyed by each
 *    engine's next deadline;
 * 3. for every peer touched — by a datagram, a timer, or its application
 *    (a send, a take that opened the window, a close) through `wake` — sends
 *    what its engine has, settles its events (waking the fibers that wait on
 *    its messages or its send queue) and re-arms its timer;
 * 4. sends the output of all peers in one batch (`sendmmsg`).
 *
 * It then yields when more is waiting, else sleeps on one alarm until the
 * earliest deadline, a readiness event (a small watcher fiber) or a wake-up.
 * Per peer there is no fiber, no timer and no queue of datagrams.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { RudpError } from "../RudpError.ts"
import { type Alarm, type Driver, Signal } from "./Driver.ts"
import { DeadlineHeap, type HeapItem } from "./DeadlineHeap.ts"
import type { ServerTransport } from "./ServerTransport.ts"

/** A peer the server driver runs. @internal */
export interface DrivenPeer<A> extends HeapItem {
  readonly driver: Driver<RudpError>
  address: A
  /** In the list of peers the current or next turn settles (owned by the ServerDriver). */
  queued: boolean
  /** Removed from the server: nothing more is done for it. */
  ended: boolean
}

/** What the server does around the driver's turns. @internal */
export interface Routing<A> {
  /** Routes one received datagram (a view valid during the call): into a peer (`receive` + `touch`), or a stateless answer. */
  readonly onDatagram: (bytes: Uint8Array, from: A) => void
  /** After a turn's datagrams were routed, before the peers settle: the stateless answers go into the output. */
  readonly afterReceive: () => void
  /** After a turn: an Effect to run (making the endpoints of new peers), or `undefined`. */
  readonly afterTurn: () => Effect.Effect<void> | undefined
}

/** Datagrams received per turn, at most (then the peers they touched are settled). */
const RECEIVE_PER_TURN = 256
/**
 * Datagrams received in turns run back to back before the driver lets other
 * fibers run: a flood is taken off the socket as fast as it comes (what the
 * kernel buffer cannot hold is lost), yet the application still gets its turn.
 */
const RECEIVE_PER_SLICE = 16 * 1024
/** Datagrams held for one `sendEach` at most. */
const OUTPUT_LIMIT = 1024

/** The datagrams of a turn, copied (the engines reuse their buffers), with their destinations. */
class Output<A> {
  readonly #buffers: Array<Uint8Array> = []
  readonly #views: Array<Uint8Array> = []
  readonly #to: Array<A> = []
  count = 0
  readonly #t: ServerTransport<A>
  constructor(t: ServerTransport<A>) {
    this.#t = t
  }

  add(bytes: Uint8Array, to: A): RudpError | undefined {
    const i = this.count
    let b = this.#buffers[i]
    if (b === undefined || b.length < bytes.length) {
      b = new Uint8Array(Math.max(bytes.length, 1500))
      this.#buffers[i] = b
    }
    b.set(bytes)
    this.#views[i] = b.subarray(0, bytes.length)
    this.#to[i] = to
    this.count = i + 1
    return this.count === OUTPUT_LIMIT ? this.flush() : undefined
  }

  flush(): RudpError | undefined {
    const n = this.count
    if (n === 0) return undefined
    this.count = 0
    return this.#t.sendEach(this.#views, this.#to, n)
  }
}

/** @internal */
export class ServerDriver<A> {
  readonly #t: ServerTransport<A>
  readonly #now: () => number
  readonly #alarm: Alarm
  readonly #schedule: (task: () => void) => void
  readonly #heap = new DeadlineHeap<DrivenPeer<A>>()
  readonly #pending: Array<DrivenPeer<A>> = []
  readonly #due: Array<DrivenPeer<A>> = []
  readonly #output: Output<A>
  /** A readiness event not yet drained (a new registration starts ready). */
  #readable = true
  readonly #drained = new Signal()
  #inTurn = false
  #kickScheduled = false
  /** The transport failed: the driver stops. */
  failure: RudpError | undefined = undefined
  /** Turns run (a figure for the benchmarks' diagnostics). */
  turns = 0

  constructor(t: ServerTransport<A>, now: () => number, alarm: Alarm, schedule: (task: () => void) => void) {
    this.#t = t
    this.#now = now
    this.#alarm = alarm
    this.#schedule = schedule
    this.#output = new Output(t)
  }

  /** Timers armed (peers with a deadline). */
  get armed(): number {
    return this.#heap.size
  }

  readonly #kick = (): void => {
    this.#kickScheduled = false
    this.#alarm.wake()
  }

  /** Starts a turn once the running fiber yields, unless one is running (it takes what was touched meanwhile). */
  #wakeLoop(): void {
    if (this.#inTurn || this.#kickScheduled) return
    this.#kickScheduled = true
    this.#schedule(this.#kick)
  }

  /** Marks `peer` for this turn's (or the next turn's) settling. */
  touch(peer: DrivenPeer<A>): void {
    if (peer.queued || peer.ended) return
    peer.queued = true
    this.#pending.push(peer)
  }

  /** A peer's application did something: settle it in the next turn. */
  wake(peer: DrivenPeer<A>): void {
    this.touch(peer)
    this.#wakeLoop()
  }

  /** A peer ended: its timer goes. */
  remove(peer: DrivenPeer<A>): void {
    this.#heap.remove(peer)
  }

  /** Queues `payloads[0, count)` to `to` for the turn's batch (runs of four or more go out at once, as GSO). */
  send(payloads: ReadonlyArray<Uint8Array>, count: number, to: A): RudpError | undefined {
    if (count >= 4) {
      const e = this.#output.flush()
      if (e !== undefined) return e
      return this.#t.sendTo(payloads, count, to)
    }
    for (let i = 0; i < count; i++) {
      const e = this.#output.add(payloads[i]!, to)
      if (e !== undefined) return e
    }
    if (count > 0) this.#wakeLoop()
    return undefined
  }

  /** One turn: receive, run due timers, settle the touched peers, send. Returns the datagrams received. */
  turn(routing: Routing<A>): number {
    this.#inTurn = true
    this.turns++
    let received = 0
    if (this.#readable) {
      const r = this.#t.recvMany(routing.onDatagram, RECEIVE_PER_TURN)
      if (typeof r !== "number") {
        this.failure = r
        this.#inTurn = false
        return 0
      }
      received = r
      if (r < RECEIVE_PER_TURN) {
        this.#readable = false
        this.#drained.notify()
      }
      routing.afterReceive()
    }
    // The due peers stay in the heap; settling re-arms each in place.
    const heap = this.#heap
    const due = this.#due
    heap.collectDue(this.#now(), due)
    for (let i = 0; i < due.length; i++) {
      const p = due[i]!
      p.driver.tick()
      this.touch(p)
    }
    due.length = 0
    // Settling wakes the peers' fibers, which may run at once and touch more peers: the list grows.
    const pending = this.#pending
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!
      p.queued = false
      if (p.ended) continue
      const d = p.driver
      d.flushSync()
      d.settle()
      if (!p.ended) heap.set(p, d.engine.pollTimeout())
    }
    pending.length = 0
    const e = this.#output.flush()
    if (e !== undefined) this.failure = e
    this.#inTurn = false
    return received
  }

  #busy(): boolean {
    if (this.#readable || this.#pending.length > 0 || this.#output.count > 0) return true
    const next = this.#heap.next()
    return next !== undefined && next <= this.#now()
  }

  /** The driver's fiber: turns until the transport fails (then it fails with the error). */
  run(routing: Routing<A>): Effect.Effect<never, RudpError> {
    const wait = Effect.suspend(() => this.#busy() ? Effect.void : this.#alarm.until(this.#heap.next()))
    const next = Effect.suspend(() => this.#busy() ? Effect.yieldNow : wait)
    const step = Effect.suspend((): Effect.Effect<void, RudpError> => {
      let received = this.turn(routing)
      while (this.#readable && received < RECEIVE_PER_SLICE && this.failure === undefined) received += this.turn(routing)
      if (this.failure !== undefined) return Effect.fail(this.failure)
      const after = routing.afterTurn()
      return after === undefined ? next : Effect.andThen(after, next)
    })
    return Effect.forever(step, { disableYield: true })
  }

  /**
   * The readiness watcher's fiber: notes a readiness event and wakes the
   * driver, then waits until the driver drained the transport before it waits
   * for the next event.
   */
  readonly watch: Effect.Effect<never, RudpError> = Effect.forever(
    Effect.andThen(
      Effect.suspend(() => this.#t.readable),
      Effect.suspend(() => {
        this.#readable = true
        this.#alarm.wake()
        // The woken driver may have run at once (a resumed fiber runs inside the resumer) and drained it.
        return this.#readable ? this.#drained.wait : Effect.void
      })
    ),
    { disableYield: true }
  )
}
