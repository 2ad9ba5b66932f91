/**
 * The rudp crate's README example, through our API.
 *
 * Run it:   npx tsx --conditions=effect-mio-source examples/rudp-readme.ts
 * Poke it:  make the endpoints reactor-driven (`{ drive: "reactor" }`) and drop the `maintain`
 *           calls: they then progress on their own, between your calls.
 *
 * The crate wraps a connected `mio::net::UdpSocket` in an `Endpoint`; here two of our UDP
 * sockets on loopback, connected to each other (`UdpLike.loopbackPair`), get an `Endpoint`
 * each. As in the crate, a user-driven endpoint does nothing between calls: `recv` takes what
 * arrived, `maintain` acknowledges, resends and sends heartbeats. The crate's example, in Rust:
 *
 * ```rust
 * endpt.write(b"Hello").unwrap();
 * endpt.write(b", there.").unwrap();
 * endpt.send_written(Guarantee::Order).unwrap();
 * endpt.send_payload(b"General Kenobi!", Guarantee::Delivery).unwrap();
 * if let Some(msg) = endpt.recv().expect("fatal io error!") { … } else { println!("Nothing ready yet!") }
 * endpt.as_set(|mut s| { s.send_payload(b"A", Guarantee::Delivery)?; s.send_payload(b"B", Guarantee::None)?;
 *                        s.send_payload(b"C", Guarantee::Order)? }).unwrap();
 * endpt.maintain();
 * ```
 */
import { Console, Effect } from "effect"
import { pathToFileURL } from "node:url"
import { Endpoint, Guarantee, Reactor, UdpLike } from "effect-mio"

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** Runs the README's sequence between two endpoints; returns what the peer received, in order. */
export const readme = Effect.scoped(Effect.gen(function*() {
  const [sockA, sockB] = yield* UdpLike.loopbackPair()
  const endpt = yield* Endpoint.make(sockA)
  const peer = yield* Endpoint.make(sockB)
  const log: Array<string> = []
  const say = (line: string) => Effect.andThen(Console.log(`  ${line}`), Effect.sync(() => void log.push(line)))

  // write a single payload "Hello, there."
  yield* endpt.write(bytes("Hello"))
  yield* endpt.write(bytes(", there."))
  yield* endpt.sendWritten(Guarantee.Order)
  // Here's a more convenient form when all the data is in one place
  yield* endpt.sendPayload(Guarantee.Delivery, bytes("General Kenobi!"))

  // try to receive the next message: `undefined` when nothing is ready
  const first = yield* peer.recv
  yield* say(first === undefined ? "peer: Nothing ready yet! (the handshake has not run: nothing happens between calls)" : `peer: msg ${text(first)}`)

  // Each end progresses only inside its calls: take waits, driving the peer; maintain drives endpt.
  const received: Array<string> = []
  while (received.length < 2) {
    yield* endpt.maintain
    const m = yield* peer.recv
    if (m !== undefined) {
      received.push(text(m))
      yield* say(`peer: msg ${JSON.stringify(text(m))}`)
    }
  }

  // Send three distinct payloads, but allow the peer to yield them in any order with respect to one another.
  yield* endpt.asSet((s) =>
    Effect.gen(function*() {
      yield* s.sendPayload(Guarantee.Delivery, bytes("A"))
      yield* s.sendPayload(Guarantee.None, bytes("B"))
      yield* s.sendPayload(Guarantee.Order, bytes("C"))
    })
  )
  while (received.length < 5) {
    yield* endpt.maintain
    for (let m = yield* peer.recv; m !== undefined; m = yield* peer.recv) {
      received.push(text(m))
      yield* say(`peer: msg ${JSON.stringify(text(m))} (a member of the set)`)
    }
  }

  // pass control to the endpoints so that they acknowledge, clear what was acknowledged and resend what was lost
  yield* peer.maintain
  yield* endpt.maintain
  const stats = yield* endpt.stats
  yield* say(`endpt: ${stats.unacked} Delivery messages unacknowledged, RTT ${stats.rtt?.smoothed.toFixed(3)} ms, ${stats.stats.datagramsSent} datagrams sent`)
  return received
}))

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  Effect.runPromise(readme.pipe(Effect.provide(Reactor.layer))).catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
