/**
 * In-process cost of a zero-timeout poll (issue "Foundation"), on an epoll
 * instance with one idle registered eventfd, like `native/poll_cost.c`:
 *
 * - `koffi_epoll_wait_ns`: the bare libc call through koffi (src/sys/epoll.ts);
 * - `poll_now_ns`: `Poll.pollNow(events)` (readiness level, synchronous);
 * - `poll_effect_ns`: `yield* poll.poll(events, 0)` in an `Effect.gen` loop;
 * - `koffi_getpid_ns`: the floor of any koffi call, for scale.
 *
 * Prints one JSON line with ns per call.
 */
import * as Effect from "effect/Effect"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { SourceFd } from "../../src/poll/SourceFd.ts"
import { Token } from "../../src/poll/Token.ts"
import * as epoll from "../../src/sys/epoll.ts"
import * as fd from "../../src/sys/fd.ts"
import { libc } from "../../src/sys/libc.ts"
import { emit, now, num, runMain } from "./common.ts"

const iters = num("iters", 500_000)

const timeLoop = (f: () => void, n: number): number => {
  for (let i = 0; i < n / 10; i++) f()
  const t0 = now()
  for (let i = 0; i < n; i++) f()
  return ((now() - t0) * 1e6) / n
}

runMain(
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(1024)
    const efd = fd.eventfd()
    if (typeof efd !== "number") throw new Error("eventfd failed")
    yield* poll.registry.register(SourceFd(efd), Token(1), Interest.READABLE)
    const raw = new Uint8Array(events.buffer.length)
    const out: Record<string, number> = {}
    const c = libc()
    // Interleave the variants over a few rounds; report each one's mean over all rounds.
    const rounds = 4
    const add = (k: string, ns: number) => (out[k] = (out[k] ?? 0) + ns / rounds)
    for (let r = 0; r < rounds; r++) {
      add("koffi_getpid_ns", timeLoop(() => void c.getpid(), iters))
      add("koffi_epoll_wait_ns", timeLoop(() => void epoll.wait(poll.fd, raw, 1024, 0), iters))
      add("poll_now_ns", timeLoop(() => void poll.pollNow(events), iters))
      const n = iters
      const loop = Effect.gen(function*() {
        for (let i = 0; i < n; i++) yield* poll.poll(events, 0)
      })
      yield* Effect.gen(function*() {
        for (let i = 0; i < n / 10; i++) yield* poll.poll(events, 0)
      })
      const t0 = now()
      yield* loop
      add("poll_effect_ns", ((now() - t0) * 1e6) / n)
    }
    fd.close(efd)
    emit(out)
  }).pipe(Effect.scoped)
)
