/**
 * The three guarantees of reliable UDP, side by side, through a lossy path.
 *
 * Run it:   npx tsx --conditions=effect-mio-source examples/rudp-tiers.ts [loss%] [seed]
 * Poke it:  try 20 % loss (`examples/rudp-tiers.ts 20`), or watch the relay with
 *           `npm run relay -- --to 127.0.0.1:<port> --loss 5% --delay 10ms` between your own endpoints.
 *
 * Two endpoints on real UDP sockets talk through the project's lossy `Relay` (10 ms each way,
 * `loss` in both directions, 2 % of datagrams held back so that later ones overtake them).
 * The client sends a None and an Order message every 2 ms (position updates, say), then 200
 * Delivery messages, then a few sets of four 700 B Delivery messages (one datagram each); the
 * server reports what each tier did:
 *
 * - None: at most once, any order — some lost, none twice;
 * - Order: at most once, never after a later message — some lost, some dropped for coming late, never out of order;
 * - Delivery: every one, once, in order — the lost ones were sent again;
 * - sets: each set's members in whatever order they came, the sets in order.
 */
import { Effect, Fiber } from "effect"
import { pathToFileURL } from "node:url"
import { Endpoint, Guarantee, Reactor, SocketAddress, UdpLike } from "effect-mio"
import { Relay } from "effect-mio/testing"

/** What the server saw, per tier. */
export interface TierReport {
  readonly sent: number
  readonly none: { readonly received: number; readonly duplicates: number; readonly outOfOrder: number }
  readonly order: { readonly received: number; readonly inOrder: boolean; readonly late: number }
  readonly delivery: { readonly received: number; readonly inOrder: boolean; readonly retransmissions: number }
  readonly sets: ReadonlyArray<ReadonlyArray<string>>
  readonly relay: { readonly forwarded: number; readonly dropped: number }
  readonly datagrams: number
  readonly messages: number
}

const encode = (s: string) => new TextEncoder().encode(s)
const decode = (b: Uint8Array) => new TextDecoder().decode(b)

/**
 * Sends `count` messages of each tier (and 5 sets of 4) through a lossy relay and
 * reports what arrived. Needs the `Reactor`.
 */
export const tiersThroughRelay = (options: { readonly loss: number; readonly count: number; readonly seed: number }) =>
  Effect.scoped(Effect.gen(function*() {
    // The server: one peer, whoever sends first (the relay); it answers only once it hears.
    const listening = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
    const server = yield* Endpoint.make(listening, { drive: "reactor", role: "server", initialRtt: 50 })
    const relay = yield* Relay.make({
      target: listening.localAddress,
      seed: options.seed,
      conditions: { loss: options.loss, latency: "10 millis", reorder: 0.02, reorderDelay: "12 millis" }
    })
    const client = yield* Endpoint.connect({ peer: SocketAddress.format(relay.address), config: { drive: "reactor", initialRtt: 50 } })

    // The server collects until every Delivery message and every set arrived, then a little longer.
    const received: Array<string> = []
    const collecting = yield* Effect.forkChild(Effect.gen(function*() {
      let deliveries = 0, setMembers = 0
      while (deliveries < options.count || setMembers < 20) {
        const m = decode(yield* server.take)
        received.push(m)
        if (m.startsWith("D")) deliveries++
        if (m.startsWith("S")) setMembers++
      }
      yield* Effect.sleep("100 millis")
      for (let m = yield* server.recv; m !== undefined; m = yield* server.recv) received.push(decode(m))
    }))

    for (let i = 0; i < options.count; i++) {
      yield* client.sendPayload(Guarantee.None, encode(`N${i}`))
      yield* client.sendPayload(Guarantee.Order, encode(`O${i}`))
      yield* Effect.sleep("2 millis")
    }
    for (let i = 0; i < options.count; i++) yield* client.sendPayload(Guarantee.Delivery, encode(`D${i}`))
    const padding = ".".repeat(700)
    for (let k = 0; k < 5; k++) {
      yield* client.asSet((set) =>
        Effect.forEach([0, 1, 2, 3], (j) => set.sendPayload(Guarantee.Delivery, encode(`S${k}.${j}${padding}`)), { discard: true })
      )
    }
    yield* Fiber.join(collecting)

    const numbers = (prefix: string) => received.filter((m) => m.startsWith(prefix)).map((m) => Number(m.slice(1)))
    const increasing = (xs: ReadonlyArray<number>) => xs.every((x, i) => i === 0 || x > xs[i - 1]!)
    const none = numbers("N"), order = numbers("O"), delivery = numbers("D")
    const sets = [0, 1, 2, 3, 4].map((k) => received.filter((m) => m.startsWith(`S${k}.`)))
    const tx = yield* client.stats
    const rx = yield* server.stats
    const stats = relay.stats()
    yield* client.close
    return {
      sent: options.count,
      none: {
        received: none.length,
        duplicates: none.length - new Set(none).size,
        outOfOrder: none.filter((x, i) => i > 0 && x < none[i - 1]!).length
      },
      order: { received: order.length, inOrder: increasing(order), late: rx.inbox.drops["lateOrder"] ?? 0 },
      delivery: { received: delivery.length, inOrder: increasing(delivery), retransmissions: tx.stats.retransmissions },
      sets,
      relay: {
        forwarded: stats.forward.sent + stats.backward.sent,
        dropped: Object.values(stats.forward.dropped).reduce((a, b) => a + b, 0) + Object.values(stats.backward.dropped).reduce((a, b) => a + b, 0)
      },
      datagrams: tx.stats.datagramsSent,
      messages: 3 * options.count + 20
    } satisfies TierReport
  }))

/** The report as lines of text. */
export const describe = (r: TierReport, loss: number): ReadonlyArray<string> => [
  `${r.messages} messages left in ${r.datagrams} datagrams (small ones share one); the relay dropped ${r.relay.dropped} of ${r.relay.forwarded} datagrams (${loss * 100} % loss each way)`,
  `None:     ${r.none.received}/${r.sent} arrived, ${r.none.duplicates} twice (never), ${r.none.outOfOrder} overtaken by later ones (allowed); never resent`,
  `Order:    ${r.order.received}/${r.sent} arrived, ${r.order.inOrder ? "always in order" : "OUT OF ORDER"}; ${r.order.late} came late and were dropped; never resent`,
  `Delivery: ${r.delivery.received}/${r.sent} arrived, ${r.delivery.inOrder ? "in order" : "OUT OF ORDER"}, each once; ${r.delivery.retransmissions} fragments were sent again`,
  `sets:     ${r.sets.map((s) => `[${s.map((m) => m.slice(m.indexOf(".") + 1, m.indexOf(".") + 2)).join(" ")}]`).join(" ")} — members in any order, sets in order`
]

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const loss = Number(process.argv[2] ?? 5) / 100
  const seed = Number(process.argv[3] ?? 7)
  Effect.runPromise(tiersThroughRelay({ loss, count: 200, seed }).pipe(Effect.provide(Reactor.layer))).then(
    (r) => {
      for (const line of describe(r, loss)) console.log(line)
    },
    (e) => {
      console.error(e)
      process.exitCode = 1
    }
  )
}
