/**
 * Wake-up latency between two processes over inherited fds (issue "Foundation"):
 * a C driver (`native/pingpong_fd.c`) writes an eventfd (or a pipe) and waits for
 * the answer; the peer is a C epoll loop (the reference) or ours. The driver's
 * round trip holds one wake-up of each side, so the difference to the C peer is
 * the time our side adds between the kernel's wake-up and the answer: the
 * eventfd wake → fiber resume path of the reactor (or the `Poll` loop).
 */
import * as fd from "../../src/sys/fd.ts"
import { type Case, extras, field, LATENCY_EXTRAS, perRun, type RunContext, type Sample, type Variant, warmupMs } from "../lib/bench.ts"
import { CROSS, type Placement, SAME } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

type Kind = "eventfd" | "pipe"
type Wait = "epoll" | "busy"

const openPair = (kind: Kind): { peer: [number, number]; driver: [number, number]; all: Array<number> } => {
  if (kind === "eventfd") {
    const a = fd.eventfd(), b = fd.eventfd()
    if (typeof a !== "number" || typeof b !== "number") throw new Error("eventfd failed")
    // The peer waits on a and answers on b; the driver the other way round.
    return { peer: [a, b], driver: [b, a], all: [a, b] }
  }
  const toPeer = fd.pipe(), toDriver = fd.pipe()
  if (!Array.isArray(toPeer) || !Array.isArray(toDriver)) throw new Error("pipe failed")
  const [r1, w1] = toPeer as readonly [number, number], [r2, w2] = toDriver as readonly [number, number]
  return { peer: [r1, w2], driver: [r2, w1], all: [r1, w1, r2, w2] }
}

const pingPong = (kind: Kind, wait: Wait, peer: Program, at: Placement) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const fds = openPair(kind)
    const rounds = at.label === "same-core" ? (ctx.quick ? 5000 : 20000) : (ctx.quick ? 3000 : 10000)
    try {
      s.spawn({ name: "peer", program: peer, cpu: at.a, fds: fds.peer })
      const driver = s.spawn({
        name: "driver",
        program: { c: "pingpong_fd", args: ["driver", "--wait", wait, "--size", 8, "--rounds", rounds, "--warmup", ctx.quick ? 2000 : 4000, "--warmup-ms", warmupMs(ctx)] },
        cpu: at.b,
        fds: fds.driver
      })
      // The children hold their own copies now.
      for (const f of fds.all) fd.close(f)
      fds.all.length = 0
      const r = await driver.result(60_000)
      return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
    } finally {
      for (const f of fds.all) fd.close(f)
    }
  })

const cPeer = (wait: Wait): Program => ({ c: "pingpong_fd", args: ["peer", "--wait", wait, "--size", 8] })
const ourPeer = (level: "fiber" | "readiness", strategy: string): Program => ({
  peer: "fd_pingpong",
  args: ["--level", level, "--strategy", strategy, "--size", 8]
})

const variant = (name: string, kind: Kind, wait: Wait, peer: Program, at: Placement, ref = false): Variant => ({
  name,
  placement: at.label,
  ref,
  run: pingPong(kind, wait, peer, at)
})

const method = (kind: Kind) =>
  `Round trip of an 8-byte ${kind} message measured by the C driver (native/pingpong_fd.c, mean over the run after a warm-up of at least 1 s, bench/lib/bench.ts warmupMs); ` +
  `the peer answers each message. Lower is better; Δ is the time our peer adds over the C peer per round trip (one wake-up on our side).`

const inProcess = perRun((ctx: RunContext) =>
  withSession(async (s) => {
    const p = s.spawn({ name: "wake_path", program: { peer: "wake_path", args: ["--iters", ctx.quick ? 10_000 : 50_000] }, cpu: SAME.a })
    return p.result(120_000)
  })
)
const part = (name: string, key: string, ref = false): Variant => ({
  name,
  placement: "one process",
  ref,
  run: async (ctx) => ({ value: field(await inProcess(ctx), key) })
})

export const cases: ReadonlyArray<Case> = [
  {
    id: "wake-path",
    group: "wake",
    title: "wake → resume inside one process, no kernel wake-up (µs per wake; diagnostic breakdown)",
    unit: "µs",
    better: "lower",
    delta: true,
    method:
      "bench/peers/wake_path.ts: each iteration starts to wait, a setImmediate writes an eventfd, the waiter reads it (50,000 iterations, 3 interleaved rounds, mean). " +
      "The reference is the floor of the park design — a bare libuv poll watcher (koffi's node.poll) on an epoll fd, epoll_wait(0), read — so Δ is what the layer above adds per wake.",
    variants: [
      part("bare uv_poll watcher on the epoll fd + epoll_wait(0) + read", "uvpoll_raw_us", true),
      part("ours reactor park: Registration.readIo", "reactor_park_us"),
      part("ours reactor spin: Registration.readIo", "reactor_spin_us"),
      part("ours Poll.poll(events) park", "poll_park_us"),
      part("for scale: write + epoll_wait(0) + read, plain loop", "sync_pollnow_us"),
      part("for scale: one setImmediate round", "immediate_us"),
      part("for scale: Effect.callback resumed from a setImmediate", "callback_resume_us"),
      part("for scale: Registration.readIo whose op succeeds at once (no syscall)", "readio_ready_us"),
      part("for scale: watcher stop + start (Poll.poll, per wait)", "uv_stop_start_us"),
      part("for scale: watcher ref + unref (park driver, per park)", "uv_ref_unref_us")
    ]
  },
  {
    id: "wake-same",
    group: "wake",
    title: "eventfd wake → resume, ping-pong with a blocking C epoll driver, same core (µs per round trip)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: method("eventfd"),
    variants: [
      variant("C epoll peer", "eventfd", "epoll", cPeer("epoll"), SAME, true),
      variant("ours fiber (Registration.readIo), park", "eventfd", "epoll", ourPeer("fiber", "park"), SAME),
      variant("ours fiber, backoff", "eventfd", "epoll", ourPeer("fiber", "backoff"), SAME),
      variant("ours fiber, spin", "eventfd", "epoll", ourPeer("fiber", "spin"), SAME),
      variant("ours fiber, block strategy (opt-in)", "eventfd", "epoll", ourPeer("fiber", "block"), SAME),
      variant("ours readiness (Poll.poll loop), park", "eventfd", "epoll", ourPeer("readiness", "park"), SAME),
      variant("ours readiness (Poll.pollBlocking loop, opt-in)", "eventfd", "epoll", ourPeer("readiness", "block"), SAME)
    ]
  },
  {
    id: "wake-cross",
    group: "wake",
    title: "eventfd wake → resume, ping-pong with a blocking C epoll driver, cross core (µs per round trip)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: method("eventfd"),
    variants: [
      variant("C epoll peer", "eventfd", "epoll", cPeer("epoll"), CROSS, true),
      variant("ours fiber (Registration.readIo), park", "eventfd", "epoll", ourPeer("fiber", "park"), CROSS),
      variant("ours fiber, backoff", "eventfd", "epoll", ourPeer("fiber", "backoff"), CROSS),
      variant("ours readiness (Poll.poll loop), park", "eventfd", "epoll", ourPeer("readiness", "park"), CROSS)
    ]
  },
  {
    id: "wake-busy",
    group: "wake",
    title: "eventfd wake → resume, ping-pong with a busy-polling C driver, cross core (µs per round trip)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: method("eventfd"),
    variants: [
      variant("C busy-poll peer", "eventfd", "busy", cPeer("busy"), CROSS, true),
      variant("ours fiber (Registration.readIo), spin", "eventfd", "busy", ourPeer("fiber", "spin"), CROSS),
      variant("ours fiber, backoff", "eventfd", "busy", ourPeer("fiber", "backoff"), CROSS),
      variant("ours readiness (pollNow busy loop)", "eventfd", "busy", ourPeer("readiness", "spin"), CROSS)
    ]
  },
  {
    id: "pipe-same",
    group: "pipe",
    title: "pipe ping-pong between two processes, blocking C epoll driver, same core (µs per round trip)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: method("pipe"),
    variants: [
      variant("C epoll peer", "pipe", "epoll", cPeer("epoll"), SAME, true),
      variant("ours fiber (Registration.readIo), park", "pipe", "epoll", ourPeer("fiber", "park"), SAME),
      variant("ours readiness (Poll.poll loop), park", "pipe", "epoll", ourPeer("readiness", "park"), SAME)
    ]
  },
  {
    id: "pipe-cross",
    group: "pipe",
    title: "pipe ping-pong between two processes, cross core (µs per round trip)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: method("pipe") + " The busy rows pair a busy-polling C driver with a busy-polling peer.",
    variants: [
      variant("C epoll peer", "pipe", "epoll", cPeer("epoll"), CROSS, true),
      variant("ours fiber (Registration.readIo), park", "pipe", "epoll", ourPeer("fiber", "park"), CROSS),
      variant("busy: C busy-poll peer", "pipe", "busy", cPeer("busy"), CROSS),
      variant("busy: ours fiber, spin", "pipe", "busy", ourPeer("fiber", "spin"), CROSS)
    ]
  }
]
