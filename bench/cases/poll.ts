/**
 * Zero-timeout poll cost (issue "Foundation"): ns per `epoll_wait(…, 0)` on an
 * epoll instance with one idle registered fd — C (`native/poll_cost.c`) against
 * ours at three depths, all in one process per run (`bench/peers/poll_cost.ts`).
 */
import { type Case, field, perRun, type RunContext, type Sample } from "../lib/bench.ts"
import { withSession } from "../lib/proc.ts"

const CPU = "0"

const ours = perRun((ctx: RunContext) =>
  withSession(async (s) => {
    const p = s.spawn({ name: "poll_cost", program: { peer: "poll_cost", args: ["--iters", ctx.quick ? 100_000 : 400_000] }, cpu: CPU })
    return p.result(120_000)
  })
)

const pick = (key: string) => async (ctx: RunContext): Promise<Sample> => ({ value: field(await ours(ctx), key) })

export const cases: ReadonlyArray<Case> = [
  {
    id: "poll-cost",
    group: "poll",
    title: "zero-timeout poll cost, epoll with one idle fd (ns per call)",
    unit: "ns",
    better: "lower",
    method:
      "A loop of zero-timeout polls after a warm-up; C is one process (native/poll_cost.c, 2M calls), " +
      "ours is one Node process per run measuring each depth in 4 interleaved rounds (mean).",
    variants: [
      {
        name: "C epoll_wait(…, 0)",
        placement: "one process",
        ref: true,
        run: (ctx) =>
          withSession(async (s) => {
            const p = s.spawn({ name: "poll_cost.c", program: { c: "poll_cost", args: ["--iters", ctx.quick ? 500_000 : 2_000_000] }, cpu: CPU })
            return { value: field(await p.result(), "ns_per_call") }
          })
      },
      { name: "koffi epoll_wait (sys gate, no Poll)", placement: "one process", run: pick("koffi_epoll_wait_ns") },
      { name: "ours Poll.pollNow (readiness, sync)", placement: "one process", run: pick("poll_now_ns") },
      { name: "ours yield* poll.poll(events, 0) (Effect)", placement: "one process", run: pick("poll_effect_ns") },
      { name: "koffi getpid() (any koffi call, for scale)", placement: "one process", run: pick("koffi_getpid_ns") }
    ]
  }
]
