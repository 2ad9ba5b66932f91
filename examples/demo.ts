/**
 * The effect-mio tour: `npm start`.
 *
 * 1. Readiness (mio): a Poll-driven echo over a Unix socketpair, printing each event.
 * 2. Beyond mio: a Waker, a Timer and Signals in one Poll.
 * 3. Fiber level: a TCP echo service through Effect's own `effect/socket`
 *    interfaces, served by the reactor.
 * 4. A UDP exchange through Effect's `DatagramSocket`, on sendmmsg/recvmmsg.
 * 5. DCCP (RFC 4340) in user space: an echo over DCCP-UDP (RFC 6773), then the
 *    same over raw IP protocol 33 when the process may open raw sockets.
 * 6. Reliable UDP: the three guarantees (None, Order, Delivery) and sets, side by
 *    side, through the project's lossy relay at 5 % loss.
 * 7. effect-mio/testing: a request/response protocol under 10 % loss on SimNet,
 *    in virtual time.
 * 7. Typed messaging (links' Clt/Svc): a binary-layout codec, a framer, protocol
 *    hooks and a callback; two clients, one refused for maxConnections.
 * 8. SoupBinTCP 4.1 with an OUCH-like payload on Clt/Svc: login → orders and
 *    executions → logout → reconnect with the next sequence number and replay →
 *    End of Session (examples/soupbintcp/).
 *
 * Each section prints what it sees. Poke the TCP section while it runs with
 * `nc 127.0.0.1 <port>` (the port is printed).
 */
import * as Arr from "effect/Array"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import * as Option from "effect/Option"
import * as Socket from "effect/socket/Socket"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import {
  Binary,
  Callback,
  Clt,
  Codec,
  Dccp,
  Events,
  Framer,
  Interest,
  Poll,
  Protocol,
  Reactor,
  Signals,
  SocketAddress,
  Svc,
  Tcp,
  Timer,
  Token,
  Udp,
  UnixStream,
  Waker,
  WouldBlock
} from "effect-mio"
import { describe as describeTiers, tiersThroughRelay } from "./rudp-tiers.ts"
import { requestResponse } from "./simnet-request-response.ts"
import { scene as soupBinTcpScene } from "./soupbintcp/main.ts"

const decoder = new TextDecoder()
const encoder = new TextEncoder()

const section = (title: string) => Console.log(`\n── ${title} ${"─".repeat(Math.max(0, 70 - title.length))}`)

// 1 ───────────────────────────────────────────────────────────────────────────────
const readinessEcho = Effect.gen(function*() {
  yield* section("1. readiness: a Poll-driven echo over a socketpair")
  const poll = yield* Poll.make()
  const events = Events.withCapacity(16)
  const [client, server] = yield* UnixStream.pair()
  const CLIENT = Token(1), SERVER = Token(2)
  yield* poll.registry.register(client, CLIENT, Interest.add(Interest.READABLE, Interest.WRITABLE))
  yield* poll.registry.register(server, SERVER, Interest.READABLE)
  const buf = new Uint8Array(256)
  const messages = ["hello", "from", "epoll"]
  let echoed = 0
  while (echoed < messages.length) {
    yield* poll.poll(events, 1000)
    for (const event of events) {
      yield* Console.log(`  ${event}`)
      if (event.token === CLIENT && event.isWritable() && echoed === 0) {
        for (const m of messages) client.write(encoder.encode(m + "\n"))
      }
      if (event.token === SERVER && event.isReadable()) {
        // Edge-triggered: drain until WouldBlock.
        for (;;) {
          const n = server.read(buf)
          if (n === WouldBlock) break
          if (typeof n !== "number") return yield* n
          yield* Console.log(`  server read ${JSON.stringify(decoder.decode(buf.subarray(0, n)))}, echoing`)
          server.write(buf.subarray(0, n))
        }
      }
      if (event.token === CLIENT && event.isReadable()) {
        for (;;) {
          const n = client.read(buf)
          if (n === WouldBlock) break
          if (typeof n !== "number") return yield* n
          const lines = decoder.decode(buf.subarray(0, n)).split("\n").filter((l) => l.length > 0)
          echoed += lines.length
          yield* Console.log(`  client got back ${JSON.stringify(lines)}`)
        }
      }
    }
  }
})

// 2 ───────────────────────────────────────────────────────────────────────────────
const beyondMio = Effect.gen(function*() {
  yield* section("2. beyond mio: Waker, Timer and Signals in one Poll")
  const poll = yield* Poll.make()
  const events = Events.withCapacity(8)
  const WAKER = Token(10), TIMER = Token(11), SIGNALS = Token(12)
  const waker = yield* Waker.make(poll.registry, WAKER)
  const timer = yield* Timer.make(poll.registry, TIMER)
  const signals = yield* Signals.make(poll.registry, SIGNALS, ["SIGUSR2"])
  yield* timer.set("20 millis", "20 millis")
  setTimeout(() => waker.wakeNow(), 50)
  setTimeout(() => process.kill(process.pid, "SIGUSR2"), 80)
  const start = Date.now()
  let ticks = 0, woken = false, signalled = false
  while (!(ticks >= 3 && woken && signalled)) {
    yield* poll.poll(events, 1000)
    for (const event of events) {
      const at = `${String(Date.now() - start).padStart(4)} ms`
      if (event.token === TIMER) {
        const n = timer.read()
        if (typeof n === "number") {
          ticks += n
          yield* Console.log(`  ${at}  timer expired (${n}×, ${ticks} so far)`)
        }
      } else if (event.token === WAKER) {
        woken = true
        yield* Console.log(`  ${at}  waker woke the poll`)
      } else if (event.token === SIGNALS) {
        for (let s = signals.read(); s !== WouldBlock && !(s instanceof Error); s = signals.read()) {
          signalled = true
          yield* Console.log(`  ${at}  signal ${s.name} from pid ${s.pid}`)
        }
      }
    }
  }
  yield* timer.disarm
})

// 3 ───────────────────────────────────────────────────────────────────────────────
const tcpEcho = Effect.gen(function*() {
  yield* section("3. fiber level: a TCP echo service through effect/socket")
  const server = yield* Tcp.listen("127.0.0.1:0")
  yield* Console.log(`  listening on ${NetAddress.formatSocketAddress(server.address)} (try: nc ${NetAddress.formatSocketAddress(server.address).replace(":", " ")})`)
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const pull = yield* Socket.readerString(socket)
      const writer = yield* socket.writer
      while (true) {
        const text = (yield* pull).join("")
        yield* writer.write(text.toUpperCase())
      }
    })).pipe(Effect.ignore)
  ))
  const socket = yield* Tcp.connect(server.address as NetAddress.InetAddress)
  yield* Effect.scoped(Effect.gen(function*() {
    const pull = yield* Socket.readerString(socket)
    const writer = yield* socket.writer
    for (const line of ["effect", "mio", "reactor"]) {
      yield* writer.write(line)
      const reply = (yield* pull).join("")
      yield* Console.log(`  sent ${JSON.stringify(line)}, server replied ${JSON.stringify(reply)}`)
    }
  }))
})

// 4 ───────────────────────────────────────────────────────────────────────────────
const udpExchange = Effect.gen(function*() {
  yield* section("4. UDP through Effect's DatagramSocket (sendmmsg/recvmmsg underneath)")
  const a = yield* Udp.make({ bind: "127.0.0.1:0" })
  const b = yield* Udp.make({ bind: "127.0.0.1:0" })
  const readerA = yield* a.reader
  const readerB = yield* b.reader
  const writerA = yield* a.writer
  const writerB = yield* b.writer
  yield* Console.log(`  a is ${NetAddress.formatInet(readerA.address)}, b is ${NetAddress.formatInet(readerB.address)}`)
  const batch = Arr.makeBy(5, (i) => ({ payload: `datagram ${i}`, address: readerB.address }))
  yield* writerA.writeAll(batch)
  let received = 0
  while (received < batch.length) {
    for (const d of yield* readerB.pull) {
      received++
      yield* Console.log(`  b got ${JSON.stringify(decoder.decode(d.payload))} from ${NetAddress.formatInet(d.address)}`)
      yield* writerB.write({ payload: `ack ${received}`, address: d.address })
    }
  }
  let acks = 0
  while (acks < batch.length) acks += (yield* readerA.pull).length
  yield* Console.log(`  a got ${acks} acks; b dropped ${readerB.dropped()} datagrams`)
})

// 5 ───────────────────────────────────────────────────────────────────────────────
const dccpEcho = (transport: "udp" | "raw") =>
  Effect.gen(function*() {
    yield* section(`5. DCCP in user space over ${transport === "udp" ? "UDP (RFC 6773)" : "raw IP protocol 33"}`)
    const server = yield* Dccp.listen({ address: transport === "udp" ? "127.0.0.1:0" : "127.0.0.1:5001", serviceCodes: ["ECHO"], transport })
    yield* Effect.forkScoped(server.run((socket) =>
      Effect.gen(function*() {
        while (true) yield* socket.send(yield* socket.recv)
      }).pipe(Effect.ignore)
    ))
    const target = transport === "udp" ? SocketAddress.format(server.address) : "127.0.0.1:5001"
    const socket = yield* Dccp.connect({ address: target, serviceCode: "ECHO", transport })
    yield* Console.log(`  connected to ${target} (service "ECHO"), handshake done`)
    for (const text of ["request", "response", "ack"]) {
      yield* socket.send(text)
      yield* Console.log(`  sent ${JSON.stringify(text)}, echoed ${JSON.stringify(decoder.decode(yield* socket.recv))}`)
    }
    const info = yield* socket.info
    yield* Console.log(`  state ${info.state}, CCID ${info.txCcid}, MPS ${info.mps} bytes, cwnd ${info.cwnd} packets, RTT ${info.rttMs?.toFixed(2)} ms`)
    yield* socket.close
    yield* Console.log("  closed gracefully (Close → Reset(Closed))")
  })

// 6 ───────────────────────────────────────────────────────────────────────────────
const reliableUdp = Effect.gen(function*() {
  yield* section("6. reliable UDP: each guarantee through the lossy relay (5 % loss)")
  yield* Console.log("  a client endpoint sends None + Order messages every 2 ms, then 200 Delivery messages, then 5 sets")
  const report = yield* tiersThroughRelay({ loss: 0.05, count: 200, seed: 8 })
  for (const line of describeTiers(report, 0.05)) yield* Console.log(`  ${line}`)
})

// 7 ───────────────────────────────────────────────────────────────────────────────
const simulated = Effect.gen(function*() {
  yield* section("7. effect-mio/testing: request/response under 10 % loss on SimNet")
  const r = yield* requestResponse({ seed: 7, requests: 50 }).pipe(Effect.provide(TestClock.layer()))
  yield* Console.log(`  ${r.requests} requests answered with ${r.sent} sends (${r.sent - r.requests} retries);`)
  yield* Console.log(`  ${r.lost} of ${r.packets} packets lost; ${r.elapsedMs} ms of virtual time (seed ${r.seed})`)
})

// 8 ───────────────────────────────────────────────────────────────────────────────
const Quote = Binary.tagged("Quote", "Q", { symbol: Binary.ascii(8), bid: Binary.u64({ as: "number" }), ask: Binary.u64({ as: "number" }) })
const Subscribe = Binary.tagged("Subscribe", "S", { symbol: Binary.ascii(8) })
const Beat = Binary.tagged("Beat", "H", {})
const Feed = Binary.union([Quote, Subscribe, Beat], "Feed")
type Feed = Binary.Type<typeof Feed>

const typedMessaging = Effect.gen(function*() {
  yield* section("8. typed messaging: Clt and Svc with a binary layout, hooks and callbacks")
  const codec = Codec.binary(Feed.schema, Feed)
  const framer = Framer.lengthPrefixed({ width: 2 })
  // the service: answers a Subscribe with a Quote (a scripted reply), heartbeats, at most one client
  const quotes = Protocol.make<Feed, Feed>({
    sendReply: (m, link) => m._tag === "Subscribe" ? link.send({ _tag: "Quote", symbol: m.symbol, bid: 1_890_000, ask: 1_891_000 }) : Effect.void,
    heartbeat: { interval: "200 millis", make: () => ({ _tag: "Beat" }) },
    deliver: (m) => m._tag !== "Beat"
  })
  const svc = yield* Svc.bind({ address: "127.0.0.1:0", codec, framer, protocol: quotes, maxConnections: 1, name: "quotes" })
  const counter = Callback.counter()
  const clt = yield* Clt.connect({ address: svc.address, codec, framer, callback: counter, name: "desk", protocol: Protocol.make<Feed, Feed>({ deliver: (m) => m._tag !== "Beat" }) })
  const [accepted] = yield* svc.connections.changes.pipe(Stream.filter((ids) => ids.length > 0), Stream.runHead, Effect.map(Option.getOrElse(() => [])))
  yield* Console.log(`  ${clt.id} connected; the service sees ${accepted}`)
  const [sender, recver] = clt.split
  yield* Effect.forkScoped(Effect.forEach(["AAPL", "MSFT", "NVDA"], (symbol) => sender.send({ _tag: "Subscribe", symbol }), { discard: true }))
  for (let i = 0; i < 3; i++) {
    const q = yield* recver.recv
    if (q._tag === "Quote") yield* Console.log(`  quote ${q.symbol.padEnd(5)} ${(q.bid / 10_000).toFixed(2)} / ${(q.ask / 10_000).toFixed(2)}`)
  }
  yield* Console.log(`  the desk's Callback.counter: ${counter.sentCount()} sent, ${counter.recvCount()} received`)
  const second = yield* Clt.connect({ address: svc.address, codec, framer, name: "second" })
  const refused = yield* Effect.flip(second.recv)
  yield* Console.log(`  a second client: ${refused.kind} (maxConnections 1; the service counted ${(yield* svc.stats).refused} refusal)`)
})

// 9 ───────────────────────────────────────────────────────────────────────────────
const soupBinTcp = Effect.gen(function*() {
  yield* section("9. SoupBinTCP 4.1 with an OUCH-like payload: login, replay on reconnect")
  yield* soupBinTcpScene
})

const program = Effect.gen(function*() {
  yield* Console.log("effect-mio — mio's readiness core, a reactor, effect/socket adapters on epoll, DCCP, reliable UDP and typed messaging")
  yield* Effect.scoped(readinessEcho)
  yield* Effect.scoped(beyondMio)
  yield* Effect.scoped(tcpEcho)
  yield* Effect.scoped(udpExchange)
  yield* Effect.scoped(dccpEcho("udp"))
  if (process.getuid?.() === 0) yield* Effect.scoped(dccpEcho("raw"))
  else yield* Console.log("\n(raw-IP DCCP skipped: it needs CAP_NET_RAW)")
  yield* reliableUdp
  yield* simulated
  yield* Effect.scoped(typedMessaging)
  yield* Effect.scoped(soupBinTcp)
  yield* Console.log(`\ndone (addresses print as ${SocketAddress.format(SocketAddress.abstract("like-this"))} for abstract Unix names)`)
})

Effect.runPromise(program.pipe(Effect.provide(Reactor.layer))).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
