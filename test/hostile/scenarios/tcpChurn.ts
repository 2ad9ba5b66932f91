/**
 * A TCP echo server (ours, `Tcp.listen`) under connection churn from clients
 * we did not write (`node:net`): connections that reset (RST), half-close and
 * wait for the rest of the echo, vanish in the middle of a large write, and
 * slowloris clients that dribble a byte at a time and never finish. Health
 * checks (a full echo round trip) are answered throughout; afterwards every
 * handler has ended and the process has the descriptors and reactor
 * registrations it started with.
 *
 * Used by test/hostile/tcp-churn.test.ts (bounded counts) and `npm run soak`.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as net from "node:net"
import { Reactor } from "../../../src/reactor/Reactor.ts"
import * as Tcp from "../../../src/socket/Tcp.ts"
import { openFds } from "../../util/fds.ts"

export interface TcpChurnOptions {
  /** Connections of each abusive kind (reset, half-close, vanish). */
  readonly connections: number
  /** Slowloris connections held open during the churn. */
  readonly slowloris: number
  /** Clients at once. */
  readonly concurrency?: number
}

export interface TcpChurnFigures {
  readonly connections: number
  readonly accepted: number
  readonly handlersLeft: number
  readonly healthChecks: number
  readonly healthChecksAnswered: number
  readonly halfClosesEchoed: number
  readonly fdsBefore: number
  readonly fdsAfter: number
  readonly registeredBefore: number
  readonly registeredAfter: number
  readonly elapsedMs: number
}

type Kind = "reset" | "half-close" | "vanish"

/** One abusive client; resolves when it is done with the connection. Returns whether a half-close got its echo. */
const abuse = (port: number, kind: Kind): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1")
    s.on("error", () => resolve(false))
    s.once("connect", () => {
      switch (kind) {
        case "reset":
          s.write("abc", () => s.resetAndDestroy())
          s.once("close", () => resolve(false))
          return
        case "half-close": {
          let got = 0
          s.on("data", (d) => got += d.length)
          s.once("end", () => {
            s.destroy()
            resolve(got === 5)
          })
          s.end("hello")
          return
        }
        case "vanish":
          // 1 MiB the server echoes back while we never read, then gone mid-stream.
          s.write(Buffer.alloc(1 << 20, 7))
          setImmediate(() => {
            s.destroy()
            resolve(false)
          })
          return
      }
    })
  })

/** A slowloris client: a byte now and then, never finishing; destroyed by `stop`. */
const slowloris = (port: number): { readonly stop: () => void } => {
  const s = net.connect(port, "127.0.0.1")
  s.on("error", () => {})
  const timer = setInterval(() => s.write("x"), 50)
  return {
    stop: () => {
      clearInterval(timer)
      s.destroy()
    }
  }
}

/** A full echo round trip on a fresh connection. */
const healthCheck = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1")
    const timer = setTimeout(() => {
      s.destroy()
      resolve(false)
    }, 5000)
    let got = ""
    s.on("error", () => resolve(false))
    s.on("data", (d) => {
      got += d.toString()
      if (got === "ping") {
        clearTimeout(timer)
        s.end()
        s.destroy()
        resolve(true)
      }
    })
    s.write("ping")
  })

export const tcpChurn = (options: TcpChurnOptions): Effect.Effect<TcpChurnFigures, unknown, Reactor> =>
  Effect.gen(function*() {
    const start = performance.now()
    const reactor = yield* Reactor
    const fdsBefore = openFds().size
    const registeredBefore = reactor.stats().registered
    let accepted = 0, active = 0
    const figures = yield* Effect.scoped(Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0", { backlog: 1024 })
      const port = (server.address as { port: number }).port
      const serving = yield* Effect.forkScoped(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          accepted++
          active++
          const { pull } = yield* socket.reader
          const writer = yield* socket.writer
          while (true) yield* writer.writeAll(yield* pull)
        })).pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => active--)))
      ))
      const loris = Array.from({ length: options.slowloris }, () => slowloris(port))
      const kinds: ReadonlyArray<Kind> = ["reset", "half-close", "vanish"]
      const concurrency = options.concurrency ?? 64
      let next = 0, halfClosesEchoed = 0, healthChecks = 0, healthChecksAnswered = 0
      const total = options.connections * kinds.length
      yield* Effect.promise(async () => {
        const worker = async () => {
          while (next < total) {
            const i = next++
            if (await abuse(port, kinds[i % kinds.length]!)) halfClosesEchoed++
            if (i % 500 === 0) {
              healthChecks++
              if (await healthCheck(port)) healthChecksAnswered++
            }
          }
        }
        await Promise.all(Array.from({ length: concurrency }, worker))
      })
      healthChecks++
      if (yield* Effect.promise(() => healthCheck(port))) healthChecksAnswered++
      for (const l of loris) l.stop()
      // Every handler ends once its peer is gone: wait for them (bounded).
      for (let i = 0; i < 500 && active > 0; i++) yield* Effect.sleep(10)
      const handlersLeft = active
      yield* Fiber.interrupt(serving)
      return { halfClosesEchoed, healthChecks, healthChecksAnswered, handlersLeft }
    }))
    // Node's client sockets release their descriptors on its next turns.
    for (let i = 0; i < 100 && openFds().size > fdsBefore; i++) yield* Effect.sleep(10)
    return {
      connections: options.connections * 3,
      accepted,
      ...figures,
      fdsBefore,
      fdsAfter: openFds().size,
      registeredBefore,
      registeredAfter: reactor.stats().registered,
      elapsedMs: performance.now() - start
    }
  })
