/**
 * The wake → resume path inside one process, without any kernel wake-up: each
 * iteration starts to wait (in the way named), a `setImmediate` callback writes
 * the eventfd, and the waiter reads it once it is readable. What remains is
 * user-space cost per wake — the event-loop turn, koffi's callback,
 * epoll_wait(0), dispatch, fiber resume — so the layers can be told apart
 * (µs per wake; every event-loop variant includes the same setImmediate):
 *
 *   uvpoll_raw_us        libuv poll watcher on an epoll fd (koffi's node.poll,
 *                        as the park driver uses it) + epoll_wait(0) + read:
 *                        the floor of the park design, no Effect
 *   reactor_park_us      Registration.readIo on the park reactor (fiber resumed
 *                        from the driver's watcher callback)
 *   reactor_spin_us      the same on the spin reactor (setImmediate polling)
 *   poll_park_us         `yield* poll.poll(events)` (Poll's own watcher start/stop)
 *   sync_pollnow_us      write, epoll_wait(0), read in a plain loop: the syscalls
 *                        alone (no event loop, no setImmediate)
 *   immediate_us         one setImmediate round, for scale
 *   readio_ready_us      Registration.readIo whose operation succeeds at once (no
 *                        syscall, no park): the Effect cost of doIo itself
 *   callback_resume_us   an Effect.callback resumed from a setImmediate: the
 *                        fiber suspend/resume cost (compare with immediate_us)
 *   uv_stop_start_us     one stop + start of a koffi/libuv poll watcher (what
 *                        `Poll.poll` does per wait)
 *   uv_ref_unref_us      one ref + unref of the watcher (what the park driver
 *                        does per park / wake)
 *
 * Prints one JSON line.
 */
import * as Effect from "effect/Effect"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import { ioResult, IoSource } from "../../src/poll/IoSource.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { SourceFd } from "../../src/poll/SourceFd.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as epoll from "../../src/sys/epoll.ts"
import * as fd from "../../src/sys/fd.ts"
import { libc } from "../../src/sys/libc.ts"
import { emit, must, now, num, runMain } from "./common.ts"

const iters = num("iters", 50_000)
const buf = new Uint8Array(8)
const one = new Uint8Array(8)
one[0] = 1

const newEventfd = (): number => must(fd.eventfd(), "eventfd") as number
const ping = (efd: number): void => void must(fd.write(efd, one), "write")
const pingSoon = (efd: number): void => void setImmediate(ping, efd)

/** libuv watcher on an epoll fd holding the eventfd; resolves after `n` wakes. */
const uvpollRaw = (n: number): Promise<number> =>
  new Promise((resolve) => {
    const efd = newEventfd()
    const ep = must(epoll.create(), "epoll") as number
    epoll.ctl(ep, 1 /* EPOLL_CTL_ADD */, efd, 0x1 | 0x8000_0000 /* EPOLLIN | EPOLLET */, 1)
    const events = new Uint8Array(16 * 12)
    let i = 0, t0 = 0
    const handle = libc().uvPoll(ep, () => {
      epoll.wait(ep, events, 16, 0)
      fd.read(efd, buf)
      if (i === n / 10) t0 = now()
      if (++i === n + n / 10) {
        const us = ((now() - t0) * 1000) / n
        handle.close()
        fd.close(ep)
        fd.close(efd)
        resolve(us)
        return
      }
      pingSoon(efd)
    })
    pingSoon(efd)
  })

const reactorLoop = (layer: typeof Reactor.layer, n: number) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const efd = newEventfd()
    const source = new IoSource(efd)
    const reg = yield* reactor.register(source)
    const read = reg.readIo(() => ioResult(fd.read(efd, buf)))
    let t0 = 0
    for (let i = 0; i < n + n / 10; i++) {
      if (i === n / 10) t0 = now()
      pingSoon(efd)
      yield* read
    }
    const us = ((now() - t0) * 1000) / n
    reg.deregister()
    source.close()
    return us
  }).pipe(Effect.scoped, Effect.provide(layer))

const pollLoop = (n: number) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const efd = newEventfd()
    yield* poll.registry.register(SourceFd(efd), Token(0), Interest.READABLE)
    let t0 = 0
    for (let i = 0; i < n + n / 10; i++) {
      if (i === n / 10) t0 = now()
      pingSoon(efd)
      yield* poll.poll(events)
      fd.read(efd, buf)
    }
    fd.close(efd)
    return ((now() - t0) * 1000) / n
  }).pipe(Effect.scoped)

const syncLoop = (n: number): number => {
  const ep = must(epoll.create(), "epoll") as number
  const efd = newEventfd()
  epoll.ctl(ep, 1, efd, 0x1 | 0x8000_0000, 1)
  const events = new Uint8Array(16 * 12)
  let t0 = 0
  for (let i = 0; i < n + n / 10; i++) {
    if (i === n / 10) t0 = now()
    ping(efd)
    while (must(epoll.wait(ep, events, 16, 0), "epoll_wait") === 0) {
      // spin
    }
    fd.read(efd, buf)
  }
  fd.close(ep)
  fd.close(efd)
  return ((now() - t0) * 1000) / n
}

const watcherCalls = (what: "stop_start" | "ref_unref", n: number): number => {
  const ep = must(epoll.create(), "epoll") as number
  const noop = () => {}
  const h = libc().uvPoll(ep, noop)
  const f = what === "stop_start" ? () => (h.stop(), h.start(noop)) : () => (h.ref(), h.unref())
  for (let i = 0; i < n / 10; i++) f()
  const t0 = now()
  for (let i = 0; i < n; i++) f()
  const us = ((now() - t0) * 1000) / n
  h.close()
  fd.close(ep)
  return us
}

const readIoReady = (n: number) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const efd = newEventfd()
    const source = new IoSource(efd)
    const reg = yield* reactor.register(source)
    const op = reg.readIo(() => 1)
    let t0 = 0
    for (let i = 0; i < n + n / 10; i++) {
      if (i === n / 10) t0 = now()
      yield* op
    }
    const us = ((now() - t0) * 1000) / n
    reg.deregister()
    source.close()
    return us
  }).pipe(Effect.scoped, Effect.provide(Reactor.layer))

const callbackResume = (n: number) =>
  Effect.gen(function*() {
    const wait = Effect.callback<void>((resume) => void setImmediate(() => resume(Effect.void)))
    let t0 = 0
    for (let i = 0; i < n + n / 10; i++) {
      if (i === n / 10) t0 = now()
      yield* wait
    }
    return ((now() - t0) * 1000) / n
  })

const immediateLoop = (n: number): Promise<number> =>
  new Promise((resolve) => {
    let i = 0, t0 = 0
    const step = (): void => {
      if (i === n / 10) t0 = now()
      if (++i === n + n / 10) return resolve(((now() - t0) * 1000) / n)
      setImmediate(step)
    }
    setImmediate(step)
  })

runMain(Effect.gen(function*() {
  const out: Record<string, number> = {}
  const rounds = 3
  const add = (k: string, us: number) => (out[k] = (out[k] ?? 0) + us / rounds)
  for (let r = 0; r < rounds; r++) {
    add("uvpoll_raw_us", yield* Effect.promise(() => uvpollRaw(iters)))
    add("reactor_park_us", yield* reactorLoop(Reactor.layer, iters))
    add("reactor_spin_us", yield* reactorLoop(Reactor.layerSpin, iters))
    add("poll_park_us", yield* pollLoop(iters))
    add("sync_pollnow_us", syncLoop(iters))
    add("immediate_us", yield* Effect.promise(() => immediateLoop(iters)))
    add("readio_ready_us", yield* readIoReady(iters * 4))
    add("callback_resume_us", yield* callbackResume(iters))
    add("uv_stop_start_us", watcherCalls("stop_start", iters))
    add("uv_ref_unref_us", watcherCalls("ref_unref", iters))
  }
  emit(out)
}))
