/**
 * `npm run relay -- --to HOST:PORT [--listen HOST:PORT] [--seed N] [conditions…]`
 *
 * A lossy UDP relay between clients and one target, with the impairment model of
 * effect-mio/testing's SimNet. Conditions: --loss 5% --delay 10ms --jitter 2ms
 * --reorder 1% --reorder-delay 5ms --duplicate 0.5% --corrupt 0.1% --mtu 1400
 * --rate 10mbit --queue 64000 --burst 1%,25%. --interval 1s sets how often the
 * counters print (0 turns it off); --resolution 0.05ms how close deliveries go out
 * together. Stop it with Ctrl-C; it prints the totals.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { SocketAddress } from "effect-mio"
import { Reactor } from "effect-mio"
import { Impairment, Relay } from "effect-mio/testing"

const relayKeys = new Set(["to", "listen", "seed", "interval", "resolution"])

const parseArgs = (argv: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`)
    const eq = arg.indexOf("=")
    if (eq > 0) out[arg.slice(2, eq)] = arg.slice(eq + 1)
    else {
      const value = argv[i + 1]
      if (value === undefined || value.startsWith("--")) throw new Error(`${arg} needs a value`)
      out[arg.slice(2)] = value
      i++
    }
  }
  return out
}

const format = (s: Relay.RelayStats): string => {
  const dir = (name: string, l: Relay.RelayStats["forward"]) => {
    const drops = Object.entries(l.dropped).map(([k, v]) => `${k} ${v}`).join(", ") || "none"
    return `${name}: sent ${l.sent}, delivered ${l.delivered}, duplicated ${l.duplicated}, reordered ${l.reordered}, corrupted ${l.corrupted}, dropped: ${drops}`
  }
  return `${dir("client→target", s.forward)}\n${dir("target→client", s.backward)}\nclients ${s.clients}, in flight ${s.inFlight}, send failures ${s.sendFailures}`
}

const main = Effect.gen(function*() {
  const args = parseArgs(process.argv.slice(2))
  if (args.to === undefined) return yield* Effect.fail(new Error("--to HOST:PORT is required"))
  const conditionFlags = Object.fromEntries(Object.entries(args).filter(([k]) => !relayKeys.has(k)))
  const conditions = Impairment.fromFlags(conditionFlags)
  if (Result.isFailure(conditions)) return yield* Effect.fail(new Error(conditions.failure.message))
  const seed = Number(args.seed ?? 1)
  if (!Number.isSafeInteger(seed)) return yield* Effect.fail(new Error(`--seed ${args.seed} is not an integer`))
  const resolution = args.resolution === undefined ? undefined : Impairment.parseMillis(args.resolution)
  if (resolution !== undefined && Result.isFailure(resolution)) return yield* Effect.fail(new Error(`--resolution: ${resolution.failure.message}`))
  const resolutionMs = resolution === undefined ? undefined : resolution.success
  const relay = yield* Relay.make({ target: args.to, listen: args.listen, seed, conditions: conditions.success, resolutionMs })
  const described = Impairment.describe(Impairment.conditionsUnsafe(conditions.success))
  console.log(`relay ${SocketAddress.format(relay.address)} → ${args.to} (seed ${seed}; ${described})`)
  const interval = args.interval === undefined ? 1000 : Impairment.parseMillis(args.interval)
  const ms = typeof interval === "number" ? interval : Result.isSuccess(interval) ? interval.success : 1000
  if (ms > 0) {
    const timer = setInterval(() => console.log(`\n${format(relay.stats())}`), ms)
    yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(timer)))
  }
  yield* Effect.callback<void>((resume) => {
    process.once("SIGINT", () => resume(Effect.void))
    process.once("SIGTERM", () => resume(Effect.void))
  })
  console.log(`\ntotals:\n${format(relay.stats())}`)
})

Effect.runPromise(main.pipe(Effect.scoped, Effect.provide(Reactor.layer))).catch((e) => {
  console.error(`relay: ${e instanceof Error ? e.message : String(e)}`)
  process.exitCode = 2
})
