/**
 * Bad inputs of the readiness floor: Poll, Events, Registry, SourceFd, Timer,
 * Signals, Waker.
 */
import * as Effect from "effect/Effect"
import * as Events from "../../../src/poll/Events.ts"
import * as Interest from "../../../src/poll/Interest.ts"
import * as Poll from "../../../src/poll/Poll.ts"
import type { Registry } from "../../../src/poll/Registry.ts"
import * as Signals from "../../../src/poll/Signals.ts"
import type { Source } from "../../../src/poll/Source.ts"
import { SourceFd } from "../../../src/poll/SourceFd.ts"
import * as Timer from "../../../src/poll/Timer.ts"
import { Token } from "../../../src/poll/Token.ts"
import * as Waker from "../../../src/poll/Waker.ts"
import * as Pipe from "../../../src/net/Pipe.ts"
import { type Case, each, type Group } from "./harness.ts"
import { notBooleans, notDurations } from "./values.ts"

interface PollFixture {
  readonly poll: Poll.Poll
  readonly registry: Registry
  readonly events: Events.Events
  readonly source: Source
  readonly timer: Timer.Timer
}

const fixture = Effect.gen(function*() {
  const poll = yield* Poll.make()
  const [, receiver] = yield* Pipe.make()
  const timer = yield* Timer.make(poll.registry, Token(7))
  return { poll, registry: poll.registry, events: Events.withCapacity(8), source: receiver, timer }
})

const t = Token(1)

/** A fresh, unregistered source for one registration case. */
const fresh = <A, E>(use: (source: Source) => Effect.Effect<A, E>) => Effect.flatMap(Pipe.make(), ([, receiver]) => use(receiver))
const R = Interest.READABLE
const any = <A>(u: unknown): A => u as A

const badTokens: ReadonlyArray<unknown> = [-1, 1.5, Number.NaN, "1", null, 2 ** 53, Infinity]
const badInterests: ReadonlyArray<unknown> = [0, -1, 4, 0b10_0000, 1.5, "READABLE", null, Number.NaN]
const badCapacities: ReadonlyArray<unknown> = [0, -1, Number.NaN, 1.5, 2 ** 21, "8", null, Infinity]
const badSources: ReadonlyArray<unknown> = [null, {}, 42, "source"]
/** Not fd numbers (-1 is one, naming no file: the kernel answers EBADF, kind Closed, as in mio). */
const badFds: ReadonlyArray<unknown> = [Number.NaN, 1.5, "3", null, 2 ** 31]

const cases: Array<Case<PollFixture>> = [
  // Events: a bad capacity is reported by the first poll that uses it.
  ...each<PollFixture>("Events.withCapacity then pollNow", "Events capacity", badCapacities, (f, v) =>
    f.poll.pollNow(Events.withCapacity(any(v)))),
  ...each<PollFixture>("Events.withCapacity then poll", "Events capacity", badCapacities.slice(0, 3), (f, v) =>
    f.poll.poll(Events.withCapacity(any(v)), 0)),
  ...each<PollFixture>("poll.poll timeout", "timeout", notDurations, (f, v) => f.poll.poll(f.events, any(v))),
  ...each<PollFixture>("poll.pollBlocking timeout", "timeout", notDurations, (f, v) => f.poll.pollBlocking(f.events, any(v))),
  ...each<PollFixture>("poll.pollNow events", "events", [null, {}, "events"], (f, v) => f.poll.pollNow(any(v))),
  ...each<PollFixture>("poll.poll events", "events", [null, {}], (f, v) => f.poll.poll(any(v), 0)),
  // Registry: tokens, interests, options and sources.
  ...each<PollFixture>("registry.register token", "token", badTokens, (f, v) => fresh((source) => f.registry.register(source, any(v), R))),
  ...each<PollFixture>("registry.register interest", "interest", badInterests, (f, v) => fresh((source) => f.registry.register(source, t, any(v)))),
  ...each<PollFixture>("registry.register source", "source", badSources, (f, v) => f.registry.register(any(v), t, R)),
  ...each<PollFixture>("registry.register trigger", "trigger", ["both", 1, null], (f, v) =>
    fresh((source) => f.registry.register(source, t, R, { trigger: any(v) }))),
  ...each<PollFixture>("registry.register oneshot", "oneshot", notBooleans, (f, v) =>
    fresh((source) => f.registry.register(source, t, R, { oneshot: any(v) }))),
  ...each<PollFixture>("registry.register exclusive", "exclusive", notBooleans, (f, v) =>
    fresh((source) => f.registry.register(source, t, R, { exclusive: any(v) }))),
  ...each<PollFixture>("registry.register options", "options", ["level", 42], (f, v) =>
    fresh((source) => f.registry.register(source, t, R, any(v)))),
  ...each<PollFixture>("registry.reregister token", "token", badTokens.slice(0, 4), (f, v) =>
    f.registry.reregister(f.timer, any(v), R)),
  ...each<PollFixture>("registry.reregister interest", "interest", badInterests.slice(0, 4), (f, v) =>
    f.registry.reregister(f.timer, t, any(v))),
  ...each<PollFixture>("registry.reregister source", "source", badSources, (f, v) => f.registry.reregister(any(v), t, R)),
  ...each<PollFixture>("registry.deregister source", "source", badSources, (f, v) => f.registry.deregister(any(v))),
  ...each<PollFixture>("registry.registerFd fd", "fd", badFds, (f, v) => f.registry.registerFd(any(v), t, R)),
  ...each<PollFixture>("registry.deregisterFd fd", "fd", badFds, (f, v) => f.registry.deregisterFd(any(v))),
  ...each<PollFixture>("SourceFd fd", "fd", badFds, (f, v) => f.registry.register(SourceFd(any(v)), t, R)),
  ...each<PollFixture>("SourceFd fd", "epoll_ctl", [-1, 999_999], (f, v) => f.registry.register(SourceFd(any(v)), t, R), "Closed"),
  // Timer
  ...each<PollFixture>("Timer.make token", "token", badTokens.slice(0, 4), (f, v) => Timer.make(f.registry, any(v))),
  ...each<PollFixture>("Timer.make clock", "clock", ["sundial", 1, null], (f, v) => Timer.make(f.registry, t, { clock: any(v) })),
  ...each<PollFixture>("Timer.unregistered clock", "clock", ["sundial", 0], (_, v) => Timer.unregistered({ clock: any(v) })),
  ...each<PollFixture>("Timer.make registry", "registry", [null, {}, "poll"], (_, v) => Timer.make(any(v), t)),
  ...each<PollFixture>("timer.set after", "after", [...notDurations, 0, Infinity], (f, v) => f.timer.set(any(v))),
  ...each<PollFixture>("timer.set interval", "interval", [...notDurations, Infinity], (f, v) => f.timer.set(10_000, any(v))),
  ...each<PollFixture>("timer.setMillis afterMs", "afterMs", [0, -1, Number.NaN, Infinity, "5", null], (f, v) => f.timer.setMillis(any(v))),
  ...each<PollFixture>("timer.setMillis intervalMs", "intervalMs", [-1, Number.NaN, Infinity, "5", null], (f, v) =>
    f.timer.setMillis(10_000, any(v))),
  // Signals
  ...each<PollFixture>("Signals.make signal", "signal", ["SIGNOPE", 0, -1, 9999, 1.5, null, "SIGKILL", 11], (f, v) =>
    Signals.make(f.registry, t, [any(v)])),
  ...each<PollFixture>("Signals.make signals", "signals", [[], "SIGUSR1", null, 10], (f, v) => Signals.make(f.registry, t, any(v))),
  ...each<PollFixture>("Signals.make token", "token", [-1, "1"], (f, v) => Signals.make(f.registry, any(v), ["SIGUSR2"])),
  ...each<PollFixture>("Signals.make registry", "registry", [null, {}], (_, v) => Signals.make(any(v), t, ["SIGUSR2"])),
  // Waker
  ...each<PollFixture>("Waker.make token", "token", badTokens.slice(0, 5), (f, v) => Waker.make(f.registry, any(v))),
  ...each<PollFixture>("Waker.make registry", "registry", [null, {}, 42], (_, v) => Waker.make(any(v), t)),
  // Interest.remove/add are pure combinators over branded values; a bad Interest is
  // caught where it is used (register), above.
  {
    name: "registry.register exclusive with oneshot",
    run: (f) => fresh((source) => f.registry.register(source, t, R, { exclusive: true, oneshot: true })),
    kind: "InvalidInput",
    names: ["exclusive", "oneshot"]
  }
]

/** @internal */
export const pollGroup: Group<PollFixture, never> = { name: "poll", fixture, cases }
