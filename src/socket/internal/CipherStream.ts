/**
 * The ciphertext side of a TLS connection: our connection as the Node `Duplex`
 * node:tls wraps, driven by the reactor.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import { Buffer } from "node:buffer"
import { Duplex } from "node:stream"
import { IoError } from "../../IoError.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import { nextTurn, onNodeStack } from "./nodeStack.ts"
import { type Connection, skip, writeSome } from "./StreamSocket.ts"

/** Reads into a pool of this size; a read never asks for less than `MIN_READ`. */
const MIN_READ = 16 * 1024
/** Reads one turn of the pump makes before it lets the event loop run. */
const READS_PER_TURN = 16

/**
 * The connection as the Node `Duplex` node:tls wraps. Reads: `_read` opens the
 * `demand` latch; the pump fiber reads the fd (parking on the reactor when it
 * is empty) and pushes each read — a slice of a pooled buffer, not a copy —
 * until `push` says the stream is full. Writes: tried on the fd at once; what
 * the socket does not take is written by the same pump fiber as writability
 * comes. Ending the write side shuts down the fd's; destroying shuts down
 * both (the fd itself belongs to the connection's Scope).
 *
 * @internal
 */
export class CipherStream extends Duplex {
  readonly #conn: Connection
  readonly #poolSize: number
  #pool: Buffer
  #offset = 0
  readonly #demand = Latch.makeUnsafe(false)
  readonly #outbound = Latch.makeUnsafe(false)
  #job: { rest: ReadonlyArray<Uint8Array>; done: (error?: Error | null) => void } | undefined = undefined
  pump: Fiber.Fiber<void> | undefined = undefined

  constructor(conn: Connection, chunkSize: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: chunkSize, writableHighWaterMark: chunkSize })
    this.#conn = conn
    this.#poolSize = Math.max(chunkSize, MIN_READ)
    this.#pool = Buffer.allocUnsafeSlow(this.#poolSize)
  }

  /** Bytes the last read asked for. */
  #asked = 0

  readonly #readOnce = (): number | WouldBlock | IoError => {
    if (this.#pool.length - this.#offset < MIN_READ) {
      this.#pool = Buffer.allocUnsafeSlow(this.#poolSize)
      this.#offset = 0
    }
    this.#asked = this.#pool.length - this.#offset
    return this.#conn.stream.read(this.#pool.subarray(this.#offset))
  }

  /**
   * Reads and pushes while node:tls wants more (`demand` open), up to
   * `READS_PER_TURN` reads: `"full"` when it wants no more, `"more"` when the
   * budget ran out, `"end"` at end of stream, `WouldBlock` when the fd is
   * empty (or a short read says it is).
   */
  #drain(): "full" | "more" | "end" | WouldBlock | IoError {
    for (let i = 0; i < READS_PER_TURN; i++) {
      if (!Latch.isOpen(this.#demand) || this.destroyed) return "full"
      const n = this.#readOnce()
      if (typeof n !== "number") return n
      if (n === 0) {
        this.push(null)
        return "end"
      }
      const chunk = this.#pool.subarray(this.#offset, this.#offset + n)
      this.#offset += n
      if (!this.push(chunk)) {
        this.#demand.closeUnsafe()
        return "full"
      }
      // A short read emptied the socket: wait for the next edge instead of
      // asking again only to hear WouldBlock (data or an end that arrives
      // meanwhile makes the fd readable again).
      if (n < this.#asked) return WouldBlock
    }
    return "more"
  }

  /**
   * The read side of the pump: waits for demand, then for readability; pushes
   * from a Node stack only (`onNodeStack`), and lets the event loop turn after
   * a full budget of reads.
   */
  readonly #reads: Effect.Effect<void, IoError> = Effect.suspend(() => {
    const step = (): Effect.Effect<void, IoError> => {
      const r = this.#drain()
      if (r === "end") return Effect.void
      if (r instanceof IoError) return Effect.fail(r)
      if (r === WouldBlock) return afterReadable
      if (r === "more") return afterTurn
      return loop
    }
    const loop: Effect.Effect<void, IoError> = Effect.flatMap(this.#demand.await, () => Effect.flatMap(onNodeStack, step))
    const afterReadable = Effect.flatMap(this.#conn.registration.readable, () => loop)
    const afterTurn = Effect.flatMap(nextTurn, step)
    return loop
  })

  readonly #writes: Effect.Effect<never, IoError> = Effect.forever(
    Effect.flatMap(this.#outbound.await, () =>
      Effect.suspend(() => {
        const job = this.#job!
        const rest: Effect.Effect<void, IoError> = Effect.suspend(() => {
          if (job.rest.length === 0) return Effect.void
          return Effect.flatMap(this.#conn.registration.writeIo(() => writeSome(this.#conn, job.rest)), (n) => {
            job.rest = skip(job.rest, n)
            return rest
          })
        })
        return Effect.flatMap(rest, () =>
          Effect.map(onNodeStack, () => {
            this.#job = undefined
            this.#outbound.closeUnsafe()
            job.done()
          }))
      })),
    { disableYield: true }
  )

  /**
   * The pump: reads until end of stream and writes until its Scope closes;
   * an error of either destroys the stream with it.
   */
  readonly run: Effect.Effect<void> = Effect.all([this.#reads, this.#writes], { concurrency: 2, discard: true }).pipe(
    Effect.catch((e: IoError) =>
      Effect.sync(() => {
        const job = this.#job
        this.#job = undefined
        if (job !== undefined) job.done(e)
        else this.destroy(e)
      })
    )
  )

  override _read(): void {
    this.#demand.openUnsafe()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#send([chunk], done)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    this.#send(chunks.map((c) => c.chunk), done)
  }

  #send(bufs: ReadonlyArray<Uint8Array>, done: (error?: Error | null) => void): void {
    const r = writeSome(this.#conn, bufs)
    if (r instanceof IoError) return done(r)
    const n = r === WouldBlock ? 0 : r
    const rest = skip(bufs, n)
    if (rest.length === 0) return done()
    this.#job = { rest, done }
    this.#outbound.openUnsafe()
  }

  override _final(done: (error?: Error | null) => void): void {
    // A failed shutdown (the peer reset the connection, the Scope closed the
    // fd) leaves the write side ended all the same; the reader reports why.
    this.#conn.stream.shutdown("write")
    done()
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.pump?.interruptUnsafe()
    if (this.#conn.isOpen) this.#conn.stream.shutdown("both")
    done(error)
  }
}
