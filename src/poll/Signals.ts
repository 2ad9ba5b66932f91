/**
 * `Signals` delivers Unix signals through a `Poll` as readable events of a
 * signalfd — not part of mio, asked for by users who keep one readiness loop.
 *
 * A signalfd only sees signals that are blocked and pending for the reading
 * thread, while Node runs several threads; so that no signal is lost or kills
 * the process, taking a signal does three things, and the Scope undoes them:
 * 1. blocks it in this thread's mask (only if it was not blocked already);
 * 2. adds a Node listener for it (`process.on`). Node keeps its own handler
 *    installed process-wide, so a signal the kernel hands to one of Node's other
 *    threads is caught there, reported to this thread's event loop, and the
 *    listener re-raises it at this thread (`tgkill`), where it stays pending
 *    for the signalfd. Other listeners the application has keep working;
 * 3. opens the signalfd and registers it `READABLE`.
 *
 * A readable event can be spurious, as mio allows for any source: the kernel
 * may hand a pending process-directed signal to another of Node's threads
 * between `epoll_wait` and `read`. That signal is not lost — it comes back
 * through the listener once this thread's event loop turns — so read until
 * `WouldBlock` and keep polling without starving the event loop.
 *
 * When the last `Signals` holding a signal closes, still-pending instances of it
 * are drained before the signal is unblocked, so nothing queued is delivered to a
 * default handler afterwards. Signals that report faults (`SIGSEGV`, `SIGBUS`,
 * `SIGFPE`, `SIGILL`, `SIGTRAP`) and those that cannot be caught (`SIGKILL`,
 * `SIGSTOP`) are refused. In a worker thread only signals sent to that thread
 * arrive (Node emits no signal events there).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { constants } from "node:os"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { isOk, WouldBlock } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as fd from "../sys/fd.ts"
import { layout } from "../sys/layout.ts"
import * as Interest from "./Interest.ts"
import { IoSource } from "./IoSource.ts"
import { notRegistry, type Registry } from "./Registry.ts"
import type { Token } from "./Token.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Signals"

/**
 * A signal by name (`"SIGUSR1"`) or number.
 *
 * @since 0.1.0
 * @category models
 */
export type Signal = NodeJS.Signals | number

/**
 * One received signal (from `signalfd_siginfo`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SignalInfo {
  readonly signal: number
  readonly name: string
  /** The sender's pid (for `kill`/`sigqueue`), 0 when the kernel sent it. */
  readonly pid: number
  readonly uid: number
  /** `si_code`: `SI_USER` (0), `SI_TKILL` (-6), `SI_KERNEL` (0x80), … */
  readonly code: number
}

/**
 * @since 0.1.0
 * @category models
 */
export class Signals extends IoSource {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** The signal numbers this source receives. @since 0.1.0 */
  readonly signals: ReadonlyArray<number>
  readonly #info = new Uint8Array(layout.signalfdSiginfo.size)
  readonly #view = new DataView(this.#info.buffer)

  /** @internal */
  constructor(fd: number, signals: ReadonlyArray<number>) {
    super(fd)
    this.signals = signals
  }

  /**
   * The next pending signal, or `WouldBlock` when there is none.
   *
   * @since 0.1.0
   */
  read(): SignalInfo | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("read")
    const r = fd.read(this.fd, this.#info)
    if (!isOk(r)) return r === WouldBlock ? WouldBlock : IoError.fromErrno(r)
    const L = layout.signalfdSiginfo, v = this.#view
    const signal = v.getUint32(L.signo, true)
    return {
      signal,
      name: signalName(signal),
      pid: v.getUint32(L.pid, true),
      uid: v.getUint32(L.uid, true),
      code: v.getInt32(L.code, true)
    }
  }
}

const refused = new Set([C.SIGKILL, C.SIGSTOP, 4 /* SIGILL */, 5 /* SIGTRAP */, 7 /* SIGBUS */, 8 /* SIGFPE */, 11 /* SIGSEGV */])

const names = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals])
)

const signalName = (n: number): string => names.get(n) ?? `SIG${n}`

const resolve = (s: Signal): number | IoError.IoError => {
  const n = typeof s === "number" ? s : typeof s === "string" && Object.hasOwn(constants.signals, s) ? (constants.signals as Record<string, number>)[s] : undefined
  if (n === undefined || !Number.isInteger(n) || !names.has(n)) {
    return IoError.make("InvalidInput", "signalfd", `signal is a signal Node.js knows ("SIGUSR1", 10), not ${check.show(s)}`)
  }
  if (refused.has(n)) {
    return IoError.make("InvalidInput", "signalfd", `signal ${check.show(s)} (${signalName(n)}) cannot be taken by a signalfd`)
  }
  return n
}

/** Per-thread bookkeeping of the signals taken by live `Signals` instances. */
interface Hold {
  count: number
  readonly blockedByUs: boolean
  readonly forward: () => void
}
const holds = new Map<number, Hold>()

const take = (signal: number, tid: number): IoError.IoError | undefined => {
  const hold = holds.get(signal)
  if (hold !== undefined) {
    hold.count++
    return undefined
  }
  const set = fd.sigset([signal])
  const old = new Uint8Array(layout.sigset)
  const r = fd.sigprocmask(C.SIG_BLOCK, set, old)
  if (!isOk(r)) return IoError.fromFailure(r, "sigprocmask")
  const forward = () => {
    fd.raiseInThread(tid, signal)
  }
  process.on(names.get(signal)!, forward)
  holds.set(signal, { count: 1, blockedByUs: !fd.sigsetHas(old, signal), forward })
  return undefined
}

const release = (signal: number): void => {
  const hold = holds.get(signal)
  if (hold === undefined || --hold.count > 0) return
  holds.delete(signal)
  const set = fd.sigset([signal])
  // Drain what is still pending so unblocking does not deliver it to a default action.
  const drain = fd.signalfd(-1, set)
  if (isOk(drain)) {
    const buf = new Uint8Array(layout.signalfdSiginfo.size * 8)
    while (isOk(fd.read(drain, buf)));
    fd.close(drain)
  }
  process.off(names.get(signal)!, hold.forward)
  if (hold.blockedByUs) fd.sigprocmask(C.SIG_UNBLOCK, set, null)
}

/**
 * Takes `signals` for this thread and registers a signalfd for them `READABLE`
 * with `token`; everything is undone when the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  registry: Registry,
  token: Token,
  signals: ReadonlyArray<Signal>
): Effect.Effect<Signals, IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      if (!Array.isArray(signals) || signals.length === 0) {
        return Effect.fail(IoError.make("InvalidInput", "signalfd", `no signal given: signals is a non-empty array of signals, not ${check.show(signals)}`))
      }
      const bad = notRegistry(registry, "register")
      if (bad !== undefined) return Effect.fail(bad)
      const numbers: Array<number> = []
      for (const s of signals) {
        const n = resolve(s)
        if (typeof n !== "number") return Effect.fail(n)
        if (!numbers.includes(n)) numbers.push(n)
      }
      const tid = fd.gettid()
      const taken: Array<number> = []
      const undo = () => {
        for (const n of taken) release(n)
      }
      for (const n of numbers) {
        const e = take(n, tid)
        if (e !== undefined) {
          undo()
          return Effect.fail(e)
        }
        taken.push(n)
      }
      const r = fd.signalfd(-1, fd.sigset(numbers))
      if (!isOk(r)) {
        undo()
        return Effect.fail(IoError.fromFailure(r, "signalfd"))
      }
      const source = new Signals(r, numbers)
      const e = source.register(registry, token, Interest.READABLE)
      if (e !== undefined) {
        source.close()
        undo()
        return Effect.fail(e)
      }
      return Effect.succeed(source)
    }),
    (source) =>
      Effect.sync(() => {
        source.close()
        for (const n of source.signals) release(n)
      })
  )
