/**
 * Typed messaging (issue 10): Clt and Svc with a binary-layout codec, against
 * node:net with newline-delimited JSON and Effect RPC over Effect's NodeSocket.
 *
 *   --role server  --impl typed  Svc: the application's recv loop answers each
 *                                Order with the Order (decode + encode)
 *                         reply  Svc with a protocol `sendReply` (no hand-off
 *                                to an application fiber)
 *                  --strategy park|spin   (Svc `wait`)
 *   --role client  --impl typed  Clt: send an Order, recv the answer; --rounds,
 *                                --warmup, --warmup-ms; prints the latency summary
 *                  --strategy park|spin   (Clt `wait`)
 *   --role recv    --impl typed|ndjson   counts messages until the sender closes;
 *                                prints {"received","secs","per_s"}
 *   --role send    --impl typed|ndjson   sends 100 B messages for --secs:
 *                                typed: Clt.sendAll of --batch messages per write;
 *                                ndjson: socket.write(JSON + "\n") per message,
 *                                waiting for "drain" when write says so
 *   --role rpcserver --impl typed|effectrpc   answers Enter with Accepted
 *   --role rpcclient --impl typed|effectrpc   --secs, --concurrency K calls in
 *                                flight; prints {"calls","secs","calls_per_s"}
 *                  effectrpc: --transport nodesocket|ours, --net tcp|unix (--path),
 *                                --serialization ndjson|binary
 *   --role alloc   one process: bytes allocated per typed round trip (Clt ↔ Svc
 *                  over loopback TCP), per raw effect/socket round trip, and per
 *                  encode + decode; run with --expose-gc --max-semi-space-size=64
 *
 * Servers print {"ready":true,"port":N}.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as Stream from "effect/Stream"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import * as net from "node:net"
import { PerformanceObserver } from "node:perf_hooks"
import * as Clt from "../../src/clt/Clt.ts"
import * as Protocol from "../../src/clt/Protocol.ts"
import * as Binary from "../../src/framing/Binary.ts"
import * as Codec from "../../src/framing/Codec.ts"
import * as Framer from "../../src/framing/Framer.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import * as Svc from "../../src/svc/Svc.ts"
import { arg, emit, measureRoundTrips, now, num, port, runMain } from "./common.ts"

const role = arg("role")
const impl = arg("impl", "typed")
const strategy = arg("strategy", "park") as "park" | "spin"
const HOST = "127.0.0.1"

// --- messages ------------------------------------------------------------------------------

/** 62 bytes: with the 2-byte length, a 64-byte frame on the wire. */
const Order = Binary.tagged("Order", "O", {
  userRef: Binary.u32(),
  side: Binary.char(["B", "S"]),
  quantity: Binary.u32(),
  symbol: Binary.ascii(8),
  price: Binary.u64({ as: "number" }),
  clOrdId: Binary.ascii(14),
  sentAt: Binary.u64({ as: "number" }),
  account: Binary.ascii(10),
  seq: Binary.u32()
})
/** 98 bytes: a 100-byte frame. */
const Fill = Binary.tagged("Fill", "F", {
  userRef: Binary.u32(),
  side: Binary.char(["B", "S"]),
  quantity: Binary.u32(),
  symbol: Binary.ascii(8),
  price: Binary.u64({ as: "number" }),
  clOrdId: Binary.ascii(14),
  matchNumber: Binary.u64({ as: "number" }),
  executedAt: Binary.u64({ as: "number" }),
  liquidity: Binary.char(["A", "R"]),
  account: Binary.ascii(10),
  venue: Binary.ascii(4),
  contra: Binary.ascii(8),
  seq: Binary.u32(),
  flags: Binary.u16(),
  reserved: Binary.bytes(13)
})
const Accepted = Binary.tagged("Accepted", "A", { userRef: Binary.u32(), seq: Binary.u32() })
const Message = Binary.union([Order, Fill, Accepted], "Bench")
type Message = Binary.Type<typeof Message>
type OrderMsg = Binary.Type<typeof Order>
type FillMsg = Binary.Type<typeof Fill>

if (Order.size !== 62 || Fill.size !== 98) throw new Error(`layout sizes ${Order.size} / ${Fill.size}`)

const codec = Codec.binary(Message.schema, Message)
const framer = Framer.lengthPrefixed({ width: 2 })

const order = (seq: number): OrderMsg => ({
  _tag: "Order",
  userRef: seq,
  side: "B",
  quantity: 100,
  symbol: "AAPL",
  price: 1_890_500,
  clOrdId: "CL0000000001",
  sentAt: 1_700_000_000_000,
  account: "ACCT01",
  seq
})
const fill = (seq: number): FillMsg => ({
  _tag: "Fill",
  userRef: seq,
  side: "S",
  quantity: 100,
  symbol: "MSFT",
  price: 4_100_250,
  clOrdId: "CL0000000002",
  matchNumber: 77_000_000 + seq,
  executedAt: 1_700_000_000_123,
  liquidity: "A",
  account: "ACCT02",
  venue: "XNAS",
  contra: "BROKER01",
  seq,
  flags: 3,
  reserved: new Uint8Array(13)
})

const reactor = strategy === "spin" ? Reactor.layerSpin : Reactor.layer
const run = <A, E>(program: Effect.Effect<A, E, Reactor.Reactor | Scope.Scope>) => runMain(program.pipe(Effect.scoped, Effect.provide(reactor)))

// --- round trips -----------------------------------------------------------------------------

const echoProtocol = Protocol.make<Message, Message>({
  sendReply: (m, link) => link.send(m),
  deliver: () => false
})

const typedServer = Effect.gen(function*() {
  const svc = yield* Svc.bind({
    address: `${HOST}:0`,
    codec,
    framer,
    wait: strategy,
    name: "bench",
    ...(impl === "reply" ? { protocol: echoProtocol } : {})
  })
  emit({ ready: true, port: (svc.address as { port: number }).port })
  if (impl === "reply") return yield* Effect.never
  for (;;) {
    const { from, message } = yield* svc.recv
    yield* svc.send(from, message)
  }
})

const typedClient = (p: number) =>
  Effect.gen(function*() {
    const clt = yield* Clt.connect({ address: `${HOST}:${p}`, codec, framer, wait: strategy, name: "bench" })
    const message = order(1)
    const roundTrip = Effect.andThen(clt.send(message), clt.recv)
    yield* measureRoundTrips(roundTrip, { rounds: num("rounds", 20000), warmup: num("warmup", 3000), warmupMs: num("warmup-ms", 0) })
  })

// --- one-way rate ------------------------------------------------------------------------------

let received = 0, first = 0, last = 0
const count = (n: number) => {
  if (received === 0) first = now()
  received += n
  last = now()
}
const report = () => {
  const secs = received > 1 ? (last - first) / 1000 : 0
  emit({ received, secs, per_s: secs > 0 ? received / secs : 0 })
}

const typedRecv = Effect.gen(function*() {
  const svc = yield* Svc.bind({ address: `${HOST}:0`, codec, framer, name: "sink", inbox: 4096 })
  emit({ ready: true, port: (svc.address as { port: number }).port })
  // Count until the first connection ends (its close is the end of the run).
  const [id] = yield* svc.connections.changes.pipe(Stream.filter((ids) => ids.length > 0), Stream.runHead, Effect.map((o) => (o._tag === "Some" ? o.value : [])))
  yield* Effect.forkScoped(Effect.andThen(
    svc.connections.changes.pipe(Stream.filter((ids) => !ids.includes(id!)), Stream.runHead),
    Effect.sync(() => {
      report()
      process.exit(0)
    })
  ))
  yield* svc.messages.pipe(Stream.runForEachArray((batch) => Effect.sync(() => count(batch.length))))
})

const typedSend = (p: number) =>
  Effect.gen(function*() {
    const clt = yield* Clt.connect({ address: `${HOST}:${p}`, codec, framer, name: "source" })
    const batch = num("batch", 64)
    const until = now() + num("secs", 1) * 1000
    const messages = Array.from({ length: batch }, (_, i) => fill(i))
    let sent = 0
    const t0 = now()
    while (now() < until) {
      yield* clt.sendAll(messages)
      sent += batch
    }
    emit({ sent, secs: (now() - t0) / 1000, sent_per_s: sent / ((now() - t0) / 1000) })
    yield* clt.close
  })

const ndjsonRecv = (): void => {
  const server = net.createServer((socket) => {
    let rest = ""
    socket.setEncoding("utf8")
    socket.on("data", (text: string) => {
      const lines = (rest + text).split("\n")
      rest = lines.pop()!
      for (const line of lines) JSON.parse(line)
      count(lines.length)
    })
    socket.on("end", () => {
      report()
      process.exit(0)
    })
  })
  server.listen({ port: 0, host: HOST }, () => emit({ ready: true, port: (server.address() as net.AddressInfo).port }))
}

const ndjsonSend = (p: number): void => {
  const socket = net.connect({ port: p, host: HOST, noDelay: true }, () => {
    const until = now() + num("secs", 1) * 1000
    const t0 = now()
    let sent = 0
    const pump = () => {
      while (now() < until) {
        for (let i = 0; i < 64; i++) {
          sent++
          if (!socket.write(JSON.stringify(fill(sent)) + "\n")) return void socket.once("drain", pump)
        }
      }
      emit({ sent, secs: (now() - t0) / 1000, sent_per_s: sent / ((now() - t0) / 1000) })
      socket.end()
    }
    pump()
  })
}

// --- request / response calls -------------------------------------------------------------------

const acceptProtocol = Protocol.make<Message, Message>({
  sendReply: (m, link) => (m._tag === "Order" ? link.send({ _tag: "Accepted", userRef: m.userRef, seq: m.seq }) : Effect.void),
  deliver: () => false
})

const typedRpcServer = Effect.gen(function*() {
  const svc = yield* Svc.bind({ address: `${HOST}:0`, codec, framer, protocol: acceptProtocol, name: "rpc" })
  emit({ ready: true, port: (svc.address as { port: number }).port })
  return yield* Effect.never
})

/** K calls in flight: each answer lets the next call go (answers come in order). */
const typedRpcClient = (p: number) =>
  Effect.gen(function*() {
    const clt = yield* Clt.connect({ address: `${HOST}:${p}`, codec, framer, name: "rpc" })
    const k = num("concurrency", 1)
    const until = now() + num("secs", 1) * 1000
    let calls = 0
    yield* clt.sendAll(Array.from({ length: k }, (_, i) => order(i)))
    const t0 = now()
    let seq = k
    while (now() < until) {
      const answer = yield* clt.recv
      if (answer._tag !== "Accepted") throw new Error(`unexpected ${answer._tag}`)
      calls++
      yield* clt.send(order(seq++))
    }
    emit({ calls, secs: (now() - t0) / 1000, calls_per_s: calls / ((now() - t0) / 1000) })
  })

const EnterOrder = Schema.Struct({
  userRef: Schema.Number,
  side: Schema.Literals(["B", "S"]),
  quantity: Schema.Number,
  symbol: Schema.String,
  price: Schema.Number,
  clOrdId: Schema.String,
  sentAt: Schema.Number,
  account: Schema.String,
  seq: Schema.Number
})
class Orders extends RpcGroup.make(
  Rpc.make("Enter", { payload: EnterOrder, success: Schema.Struct({ userRef: Schema.Number, seq: Schema.Number }) })
) {}

const platformNode = async (): Promise<{ NodeSocket: any; NodeSocketServer: any }> => {
  const load = (m: string): Promise<any> => import(m)
  return { NodeSocket: await load("@effect/platform-node/NodeSocket"), NodeSocketServer: await load("@effect/platform-node/NodeSocketServer") }
}

/**
 * Effect RPC's transport and serialization: `--transport nodesocket|ours`
 * (Effect's NodeSocket / NodeSocketServer, or our Tcp / Unix sockets), `--net
 * tcp|unix` (`--path` for unix: the socket file), `--serialization
 * ndjson|binary` (RpcSerialization.layerNdjson / layerSchemaBinary).
 */
const rpcTransport = arg("transport", "nodesocket")
const rpcNet = arg("net", "tcp")
const rpcPath = arg("path", "")
const rpcSerialization = (): Layer.Layer<RpcSerialization.RpcSerialization> => {
  const s = arg("serialization", "ndjson")
  if (s === "ndjson") return RpcSerialization.layerNdjson
  if (s === "binary") return RpcSerialization.layerSchemaBinary()
  throw new Error(`unknown --serialization ${s}`)
}

const rpcServerLayer = async (): Promise<Layer.Layer<SocketServer.SocketServer, unknown>> => {
  if (rpcTransport === "ours") {
    const server = rpcNet === "unix" ? Unix.layerServer(rpcPath) : Tcp.layerServer(`${HOST}:0`, { backlog: 4096 })
    return Layer.provide(server, Reactor.layer) as Layer.Layer<SocketServer.SocketServer, unknown>
  }
  const { NodeSocketServer } = await platformNode()
  return NodeSocketServer.layer(rpcNet === "unix" ? { path: rpcPath } : { port: 0, host: HOST, noDelay: true, backlog: 4096 })
}

const rpcSocketLayer = async (p: number): Promise<Layer.Layer<Socket.Socket, unknown>> => {
  if (rpcTransport === "ours") {
    const socket = rpcNet === "unix" ? Unix.layerSocket(rpcPath) : Tcp.layerSocket(`${HOST}:${p}`)
    return Layer.provide(socket, Reactor.layer) as Layer.Layer<Socket.Socket, unknown>
  }
  const { NodeSocket } = await platformNode()
  return NodeSocket.layerNet(rpcNet === "unix" ? { path: rpcPath } : { port: p, host: HOST, noDelay: true })
}

const effectRpcServer = async () => {
  const handlers = Orders.toLayer({ Enter: ({ seq, userRef }) => Effect.succeed({ userRef, seq }) })
  const serverLayer = RpcServer.layer(Orders).pipe(
    Layer.provide(handlers),
    Layer.provide(RpcServer.layerProtocolSocketServer),
    Layer.provide(rpcSerialization()),
    Layer.provideMerge(await rpcServerLayer())
  )
  return Effect.gen(function*() {
    const context = yield* Layer.build(serverLayer)
    const address = Context.get(context, SocketServer.SocketServer).address
    emit({ ready: true, port: "port" in address ? address.port : 0 })
    return yield* Effect.never
  })
}

const effectRpcClient = async (p: number) => {
  const socket = await rpcSocketLayer(p)
  return Effect.gen(function*() {
    const protocol = yield* Layer.build(RpcClient.layerProtocolSocket().pipe(
      Layer.provide(rpcSerialization()),
      Layer.provide(socket)
    ))
    const client = yield* RpcClient.make(Orders).pipe(Effect.provideContext(protocol))
    const k = num("concurrency", 1)
    const until = now() + num("secs", 1) * 1000
    let calls = 0, seq = 0
    const t0 = now()
    const worker = Effect.gen(function*() {
      while (now() < until) {
        const o = order(seq++)
        const { _tag: _, ...payload } = o
        yield* client.Enter(payload)
        calls++
      }
    })
    yield* Effect.forEach(Array.from({ length: k }), () => worker, { concurrency: "unbounded", discard: true })
    emit({ calls, secs: (now() - t0) / 1000, calls_per_s: calls / ((now() - t0) / 1000) })
  })
}

// --- allocations -----------------------------------------------------------------------------------

const gc = (globalThis as { gc?: () => void }).gc
let collections = 0
/** Bytes the heap grew by per iteration of `loop` (no collection allowed in between), over three rounds: the least. */
const allocatedPer = <E, R>(n: number, loop: Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    if (gc === undefined) throw new Error("run with --expose-gc")
    const observer = new PerformanceObserver((list) => {
      collections += list.getEntries().length
    })
    observer.observe({ entryTypes: ["gc"] })
    const results: Array<number> = []
    for (let r = 0; r < 3; r++) {
      gc()
      gc()
      // GC entries reach the observer asynchronously: let them arrive before counting
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
      const c0 = collections
      const before = process.memoryUsage().heapUsed
      for (let i = 0; i < n; i++) yield* loop
      const during = process.memoryUsage().heapUsed
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
      if (collections === c0) results.push((during - before) / n)
    }
    observer.disconnect()
    return results.length === 0 ? Number.NaN : Math.min(...results)
  })

const allocations = Effect.gen(function*() {
  const n = num("rounds", 5000)
  // typed round trip, both ends in this process
  const svc = yield* Svc.bind({ address: `${HOST}:0`, codec, framer, name: "alloc" })
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(svc.recv, ({ from, message }) => svc.send(from, message))))
  const clt = yield* Clt.connect({ address: svc.address, codec, framer, name: "alloc" })
  const message = order(1)
  const typed = Effect.andThen(clt.send(message), clt.recv)
  for (let i = 0; i < 20000; i++) yield* typed
  const typedBytes = yield* allocatedPer(n, typed)
  // raw effect/socket echo round trip of 64 bytes
  const server = yield* Tcp.listen(`${HOST}:0`)
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const { pull } = yield* socket.reader
      const writer = yield* socket.writer
      for (;;) yield* writer.writeAll(yield* pull)
    })).pipe(Effect.ignore)
  ))
  const socket = yield* Tcp.connect(server.address as never)
  const reader = yield* socket.reader
  const writer = yield* socket.writer
  const bytes = new Uint8Array(64)
  const raw = Effect.andThen(writer.write(bytes), Effect.asVoid(reader.pull))
  for (let i = 0; i < 20000; i++) yield* raw
  const rawBytes = yield* allocatedPer(n, raw)
  // encode + decode only
  const buffer = new Codec.EncodeBuffer(128)
  const codecOnly = Effect.sync(() => {
    const end = codec.encodeInto(message, buffer, 0) as number
    codec.decode(buffer.bytes.subarray(0, end))
  })
  for (let i = 0; i < 20000; i++) yield* codecOnly
  const codecBytes = yield* allocatedPer(n * 4, codecOnly)
  emit({ typed_rtt_b: typedBytes, raw_rtt_b: rawBytes, codec_b: codecBytes })
})

// --- main ------------------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  switch (role) {
    case "server":
      return run(typedServer)
    case "client":
      return run(typedClient(await port()))
    case "recv":
      return impl === "ndjson" ? ndjsonRecv() : run(typedRecv)
    case "send": {
      const p = await port()
      return impl === "ndjson" ? ndjsonSend(p) : run(typedSend(p))
    }
    case "rpcserver":
      return impl === "effectrpc" ? runMain(Effect.scoped(await effectRpcServer()) as unknown as Effect.Effect<unknown, unknown>) : run(typedRpcServer)
    case "rpcclient": {
      const p = await port()
      return impl === "effectrpc" ? runMain(Effect.scoped(await effectRpcClient(p)) as Effect.Effect<unknown, unknown>) : run(typedRpcClient(p))
    }
    case "alloc":
      return run(allocations)
  }
  throw new Error(`unknown --role ${role}`)
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
