/**
 * One shard of the SO_REUSEPORT server: its own Reactor (its own epoll instance
 * and driver) on this worker thread, its own listener on the shared port. The
 * kernel hashes each new connection to one of the listeners.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { parentPort, threadId, workerData } from "node:worker_threads"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"

const { port } = workerData as { port: number }

const program = Effect.gen(function*() {
  const server = yield* Tcp.listen(`127.0.0.1:${port}`, { reusePort: true, backlog: 1024 })
  parentPort!.postMessage({ ready: threadId })
  return yield* server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const writer = yield* socket.writer
      yield* writer.write(`worker ${threadId}\n`)
    }))
  )
})

// Runs until the main thread says stop; then the Scope closes the listener and the
// reactor, nothing is left on this thread's event loop, and the worker ends.
// (Do not `worker.terminate()` a thread with a live reactor: see docs/readiness.md.)
const fiber = Effect.runFork(program.pipe(Effect.scoped, Effect.provide(Reactor.layer)))
parentPort!.once("message", () => {
  Effect.runFork(Fiber.interrupt(fiber))
})
