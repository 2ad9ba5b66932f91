/**
 * TCP ping-pong, our side and Node's: an echo server and a client that sends
 * `--size` bytes and waits for the echo, `--rounds` times after a warm-up of at
 * least `--warmup` round trips and `--warmup-ms` milliseconds.
 *
 *   --role server|client
 *   --impl readiness   `Poll`/`Events` + `TcpListener`/`TcpStream` (mio's level):
 *                      `--strategy park` waits with `yield* poll.poll(events)`,
 *                      `--strategy spin` busy-loops on `poll.pollNow(events)`
 *          reactor     `Reactor.register` + `Registration.readIo(read)`, direct writes
 *          fiber       effect/socket: `Tcp.connect` → `Socket`, `Tcp.listen` → `SocketServer`
 *          serve       (server) the readiness-driven handler: `Tcp.serve` with a `data` callback that
 *                      writes back what it got (the client is the fiber one)
 *          node        node:net (noDelay)
 *          nodesocket  Effect's NodeSocket / NodeSocketServer (@effect/platform-node)
 *   --strategy park|spin|backoff  (the reactor's idle strategy)
 *   --port N|stdin     (client) the server's port
 *   --chunk N          (fiber server) the reader's chunkSize (default: the adapter's, 64 KiB)
 *
 * The server prints {"ready":true,"port":N} and runs until killed; the client
 * prints {"mean_us","p50_us","p99_us","count"}.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as net from "node:net"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, measureRoundTrips, must, now, num, ok, port, reactorLayer, reportMemoryOnSignal, runMain, Samples, Warmup } from "./common.ts"

const role = arg("role")
const impl = arg("impl")
const strategy = arg("strategy", "park")
const size = num("size", 64)
const rounds = num("rounds", 20000)
const warmup = num("warmup", 3000)
const warmupMs = num("warmup-ms", 0)
const HOST = "127.0.0.1"
const message = new Uint8Array(size).fill(120)
const BLOCK_SLICE = "5 millis"
/** One turn of Node's event loop (setImmediate: after I/O callbacks, signals included). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** The timed ping-pong loop (`measureRoundTrips`) with this peer's rounds and warm-up. */
const measure = <E, R>(roundTrip: Effect.Effect<void, E, R>) => measureRoundTrips(roundTrip, { rounds, warmup, warmupMs })

// --- readiness level (Poll / Events) ----------------------------------------------------

const waitEvents = (poll: Poll.Poll, events: Events.Events): Effect.Effect<void, unknown> => {
  if (strategy === "spin") {
    return Effect.sync(() => {
      do poll.pollNow(events)
      while (events.length === 0)
    })
  }
  // mio's blocking poll: the thread waits in epoll_wait (opt-in; blocks Node's loop), a
  // slice at a time, yielding to Node between empty slices so its signals and timers run
  // (the harness measures a server with SIGUSR2).
  if (strategy === "block") {
    return Effect.flatMap(Effect.sync(() => void poll.pollBlocking(events, BLOCK_SLICE)), () => events.length === 0 ? Effect.promise(nextTurn) : Effect.void)
  }
  return poll.poll(events)
}

const readinessServer = Effect.gen(function*() {
  const listener = yield* TcpListener.bind(`${HOST}:0`, { backlog: 4096 })
  const poll = yield* Poll.make()
  const events = Events.withCapacity(1024)
  yield* poll.registry.register(listener, Token(0), Interest.READABLE)
  const conns: Array<TcpStream.TcpStream | undefined> = [undefined]
  const buf = new Uint8Array(65536)
  emit({ ready: true, port: (must(listener.localAddr(), "localAddr") as { port: number }).port })
  for (;;) {
    yield* waitEvents(poll, events)
    for (let i = 0; i < events.length; i++) {
      const token = events.tokenAt(i)
      if (token === 0) {
        for (;;) {
          const a = listener.accept()
          if (a === WouldBlock) break
          const [stream] = must(a, "accept")
          ok(stream.setNodelay(true), "nodelay")
          conns.push(stream)
          ok(stream.register(poll.registry, Token(conns.length - 1), Interest.READABLE), "register")
        }
        continue
      }
      const stream = conns[token]
      if (stream === undefined) continue
      for (;;) {
        const r = stream.read(buf)
        if (r === WouldBlock) break
        if (r === 0 || r instanceof Error) {
          stream.close()
          conns[token] = undefined
          break
        }
        writeAllSync(stream, buf.subarray(0, r))
      }
    }
  }
})

/** Writes all of `buf` (small echoes: the socket buffer takes them; spins otherwise). */
const writeAllSync = (stream: TcpStream.TcpStream, buf: Uint8Array): void => {
  let off = 0
  while (off < buf.length) {
    const w = stream.write(off === 0 ? buf : buf.subarray(off))
    if (w === WouldBlock) continue
    off += must(w, "write")
  }
}

const readinessClient = (p: number) =>
  Effect.gen(function*() {
    const stream = yield* TcpStream.connect(`${HOST}:${p}`, { nodelay: true })
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    yield* poll.registry.register(stream, Token(1), Interest.WRITABLE)
    // mio's connect recipe: writable, then no pending error and a peer address.
    for (;;) {
      yield* waitEvents(poll, events)
      ok(stream.takeError(), "connect")
      if (!(stream.peerAddr() instanceof Error)) break
    }
    yield* poll.registry.reregister(stream, Token(1), Interest.READABLE)
    const buf = new Uint8Array(65536)
    const roundTrip = Effect.gen(function*() {
      writeAllSync(stream, message)
      let got = 0
      while (got < size) {
        const r = stream.read(buf)
        if (r === WouldBlock) {
          yield* waitEvents(poll, events)
          continue
        }
        if (r === 0) throw new Error("server closed")
        got += must(r, "read")
      }
    })
    yield* measure(roundTrip)
  })

// --- reactor level (Registration.readIo) --------------------------------------------------

const reactorServer = Effect.gen(function*() {
  const reactor = yield* Reactor.Reactor
  const listener = yield* TcpListener.bind(`${HOST}:0`, { backlog: 4096 })
  const lreg = yield* reactor.register(listener)
  emit({ ready: true, port: (must(listener.localAddr(), "localAddr") as { port: number }).port })
  const buf = new Uint8Array(65536)
  for (;;) {
    const [stream] = yield* lreg.readIo(() => listener.accept())
    ok(stream.setNodelay(true), "nodelay")
    yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
      const reg = yield* reactor.register(stream)
      const read = reg.readIo(() => stream.read(buf))
      for (;;) {
        const n = yield* read
        if (n === 0) return
        writeAllSync(stream, buf.subarray(0, n))
      }
    })).pipe(Effect.ensuring(Effect.sync(() => stream.close())), Effect.ignore))
  }
})

const reactorClient = (p: number) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const stream = yield* TcpStream.connect(`${HOST}:${p}`, { nodelay: true })
    const reg = yield* reactor.register(stream)
    yield* reg.writeIo(Tcp.completeConnect(stream))
    const buf = new Uint8Array(65536)
    const read = reg.readIo(() => stream.read(buf))
    const roundTrip = Effect.gen(function*() {
      writeAllSync(stream, message)
      let got = 0
      while (got < size) {
        const n = yield* read
        if (n === 0) throw new Error("server closed")
        got += n
      }
    })
    yield* measure(roundTrip)
  })

// --- fiber level (effect/socket) ------------------------------------------------------------

const echoHandler = (socket: Socket.Socket) =>
  Effect.scoped(Effect.gen(function*() {
    const { pull } = yield* socket.reader
    const writer = yield* socket.writer
    for (;;) {
      const chunks = yield* pull
      yield* writer.writeAll(chunks)
    }
  })).pipe(Effect.ignore)

const runServer = (server: SocketServer.SocketServer["Service"]) =>
  Effect.gen(function*() {
    emit({ ready: true, port: (server.address as { port: number }).port })
    return yield* server.run(echoHandler)
  })

const socketClient = (socket: Socket.Socket) =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    const roundTrip = Effect.gen(function*() {
      yield* writer.write(message)
      let got = 0
      while (got < size) {
        const chunks = yield* reader.pull
        for (const c of chunks) got += c.length
      }
    })
    yield* measure(roundTrip)
  }))

const chunk = arg("chunk", "")
const fiberServer = Effect.flatMap(
  Tcp.listen(`${HOST}:0`, chunk === "" ? { backlog: 4096 } : { backlog: 4096, chunkSize: Number(chunk) }),
  runServer
)
const fiberClient = (p: number) => Effect.flatMap(Tcp.connect(`${HOST}:${p}`), socketClient)

// --- readiness-driven handler (Tcp.serve) -----------------------------------------------------

const serveServer = Effect.gen(function*() {
  const server = yield* Tcp.serve(`${HOST}:0`, { data: (conn, _, bytes) => void conn.write(bytes) }, { backlog: 4096 })
  emit({ ready: true, port: (server.address as { port: number }).port })
  return yield* Effect.never
})

// --- Effect's NodeSocket (optional package) ------------------------------------------------

const platformNode = async (): Promise<{ NodeSocket: any; NodeSocketServer: any }> => {
  const load = (m: string): Promise<any> => import(m)
  return {
    NodeSocket: await load("@effect/platform-node/NodeSocket"),
    NodeSocketServer: await load("@effect/platform-node/NodeSocketServer")
  }
}

// --- node:net ----------------------------------------------------------------------------------

const nodeServer = (): void => {
  const server = net.createServer({ noDelay: true }, (s) => {
    s.setNoDelay(true)
    s.on("data", (d) => s.write(d))
    s.on("error", () => {})
  })
  server.listen({ port: 0, host: HOST, backlog: 4096 }, () => {
    emit({ ready: true, port: (server.address() as net.AddressInfo).port })
  })
}

const nodeClient = (p: number): void => {
  const samples = new Samples(rounds)
  const c = net.connect({ port: p, host: HOST, noDelay: true }, () => {
    c.setNoDelay(true)
    const warm = new Warmup(warmup, warmupMs)
    let i = 0, got = 0, t0 = now()
    c.on("data", (d) => {
      got += d.length
      if (got < size) return
      got -= size
      if (!warm.warming(i++, t0)) samples.add(now() - t0)
      if (samples.count === rounds) {
        emit(samples.summary())
        process.exit(0)
      }
      t0 = now()
      c.write(message)
    })
    c.write(message)
  })
  c.on("error", (e) => {
    process.stderr.write(`${e.message}\n`)
    process.exit(1)
  })
}

// --- main -------------------------------------------------------------------------------------

const withReactor = <A, E>(program: Effect.Effect<A, E, Reactor.Reactor | Scope.Scope>) =>
  program.pipe(Effect.scoped, Effect.provide(reactorLayer(strategy)))

const main = async (): Promise<void> => {
  if (role === "server") {
    reportMemoryOnSignal()
    switch (impl) {
      case "readiness":
        return runMain(Effect.scoped(readinessServer))
      case "reactor":
        return runMain(withReactor(reactorServer))
      case "fiber":
        return runMain(withReactor(fiberServer))
      case "serve":
        return runMain(withReactor(serveServer))
      case "node":
        return nodeServer()
      case "nodesocket": {
        const { NodeSocketServer } = await platformNode()
        return runMain(Effect.scoped(Effect.flatMap(NodeSocketServer.make({ port: 0, host: HOST, backlog: 4096, noDelay: true }), runServer)) as Effect.Effect<unknown, unknown>)
      }
    }
  } else {
    const p = await port()
    switch (impl) {
      case "readiness":
        return runMain(Effect.scoped(readinessClient(p)))
      case "reactor":
        return runMain(withReactor(reactorClient(p)))
      case "fiber":
      case "serve":
        return runMain(withReactor(fiberClient(p)))
      case "node":
        return nodeClient(p)
      case "nodesocket": {
        const { NodeSocket } = await platformNode()
        return runMain(Effect.flatMap(NodeSocket.makeNet({ port: p, host: HOST, noDelay: true }), socketClient) as Effect.Effect<unknown, unknown>)
      }
    }
  }
  throw new Error(`unknown --role ${role} / --impl ${impl}`)
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
