/**
 * Peers for the ported mio tests. Where mio's tests use `std::net` on another
 * thread, these use Node's own `node:net` on the same event loop: `poll.poll`
 * with a timeout waits on a libuv watcher, so the Node peer keeps running while
 * a test waits for readiness. Every peer is a scoped resource that destroys its
 * sockets and waits for their handles to close (no fd outlives the test).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as dgram from "node:dgram"
import { mkdirSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const closeSocket = (s: net.Socket): Promise<void> =>
  new Promise((resolve) => {
    if (s.closed) return resolve()
    s.once("close", () => resolve())
    s.destroy()
  })

/** A queue of values a Node callback produces and a test awaits. */
export class Channel<A> {
  readonly #items: Array<A> = []
  readonly #waiters: Array<(a: A) => void> = []
  push(a: A): void {
    const w = this.#waiters.shift()
    if (w !== undefined) w(a)
    else this.#items.push(a)
  }
  /** The next value (waits for it). */
  get take(): Effect.Effect<A> {
    return Effect.callback<A>((resume) => {
      const a = this.#items.shift()
      if (a !== undefined) return resume(Effect.succeed(a))
      const w = (v: A) => resume(Effect.succeed(v))
      this.#waiters.push(w)
      return Effect.sync(() => {
        const i = this.#waiters.indexOf(w)
        if (i >= 0) this.#waiters.splice(i, 1)
      })
    })
  }
  get size(): number {
    return this.#items.length
  }
}

export interface NodeServer {
  /** `"127.0.0.1:port"`, `"[::1]:port"` or the Unix path. */
  readonly address: string
  /** Accepted connections, in order. */
  readonly accepted: Channel<net.Socket>
}

/**
 * A `node:net` server on `host` (an IP, or a Unix path with `unix: true`).
 * With `echo`, each connection writes back what it reads and ends its write
 * half at end of stream (mio's `echo_listener`).
 */
export const nodeServer = (
  host: string,
  options?: { readonly echo?: boolean; readonly unix?: boolean }
): Effect.Effect<NodeServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ server: net.Server; sockets: Set<net.Socket>; value: NodeServer }>((resolve, reject) => {
        const accepted = new Channel<net.Socket>()
        const sockets = new Set<net.Socket>()
        const server = net.createServer((s) => {
          sockets.add(s)
          s.on("error", () => {}) // resets are part of several tests
          if (options?.echo === true) {
            s.on("data", (d) => s.write(d))
            s.on("end", () => s.end())
          }
          accepted.push(s)
        })
        server.once("error", reject)
        const listening = () => {
          const a = server.address()
          const address = typeof a === "string" || a === null
            ? host
            : a.family === "IPv6"
            ? `[${a.address}]:${a.port}`
            : `${a.address}:${a.port}`
          resolve({ server, sockets, value: { address, accepted } })
        }
        if (options?.unix === true) server.listen(host, listening)
        else server.listen(0, host, listening)
      })
    ),
    ({ server, sockets }) =>
      Effect.promise(async () => {
        await Promise.all([...sockets].map(closeSocket))
        await new Promise<void>((resolve) => server.close(() => resolve()))
      })
  ).pipe(Effect.map(({ value }) => value))

/** A `node:net` client connected to `address` (`"host:port"`, or a Unix path with `unix: true`). */
export const nodeConnect = (
  address: string,
  options?: { readonly unix?: boolean }
): Effect.Effect<net.Socket, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<net.Socket>((resolve, reject) => {
        let s: net.Socket
        if (options?.unix === true) {
          s = net.connect(address)
        } else {
          const i = address.lastIndexOf(":")
          const host = address.slice(0, i).replace(/^\[|\]$/g, "")
          s = net.connect(Number(address.slice(i + 1)), host)
        }
        s.once("connect", () => {
          s.off("error", reject)
          s.on("error", () => {})
          resolve(s)
        })
        s.once("error", reject)
      })
    ),
    (s) => Effect.promise(() => closeSocket(s))
  )

/** Writes `data` on a Node socket and waits until it is handed to the kernel. */
export const nodeWrite = (s: net.Socket, data: Uint8Array | string): Effect.Effect<void> =>
  Effect.promise(() => new Promise<void>((resolve, reject) => s.write(data, (e) => (e ? reject(e) : resolve()))))

/** Everything a Node socket reads until the peer ends its write half (or resets). */
export const nodeReadAll = (s: net.Socket): Effect.Effect<Uint8Array> =>
  Effect.promise(() =>
    new Promise<Uint8Array>((resolve) => {
      const chunks: Array<Buffer> = []
      s.on("data", (d: Buffer) => chunks.push(d))
      const done = () => resolve(new Uint8Array(Buffer.concat(chunks)))
      s.once("end", done)
      s.once("close", done)
    })
  )

/** Destroys a Node socket and waits for its handle to close. */
export const nodeClose = (s: net.Socket): Effect.Effect<void> => Effect.promise(() => closeSocket(s))

let counter = 0

/** A fresh Unix socket path under the OS temp dir (mio's `temp_file`). */
export const tempPath = (name: string): string => {
  const dir = join(tmpdir(), `effect-mio-tests-${process.pid}`)
  if (counter === 0) {
    mkdirSync(dir, { recursive: true })
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }))
  }
  return join(dir, `${name}-${++counter}.sock`)
}

/** Waits for one turn of Node's event loop (lets a Node peer run its callbacks). */
export const turn: Effect.Effect<void> = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

export interface NodeUdp {
  readonly socket: dgram.Socket
  /** `"127.0.0.1:port"` or `"[::1]:port"`. */
  readonly address: string
}

/** A `node:dgram` socket bound to `host` (mio's `std::net::UdpSocket` peer); closed with the Scope. */
export const nodeUdp = (host: string): Effect.Effect<NodeUdp, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<NodeUdp>((resolve, reject) => {
        const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4")
        socket.once("error", reject)
        socket.bind(0, host, () => {
          const a = socket.address()
          resolve({ socket, address: a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}` })
        })
      })
    ),
    ({ socket }) => Effect.promise(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  )

/** Sends one datagram from a Node socket and waits until it is handed to the kernel. */
export const nodeSendTo = (s: NodeUdp, data: Uint8Array, address: string): Effect.Effect<void> =>
  Effect.promise(() =>
    new Promise<void>((resolve, reject) => {
      const i = address.lastIndexOf(":")
      const host = address.slice(0, i).replace(/^\[|\]$/g, "")
      s.socket.send(data, Number(address.slice(i + 1)), host, (e) => (e ? reject(e) : resolve()))
    })
  )
