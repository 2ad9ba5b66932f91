/**
 * Real peers we did not write: socat processes and Node's net/dgram, wrapped as
 * scoped Effects so a test cannot leave one running.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"

/** A port that was free a moment ago (for peers that cannot bind port 0 and report it). */
export const freePort = (): Effect.Effect<number> =>
  Effect.promise(() =>
    new Promise<number>((resolve, reject) => {
      const s = net.createServer()
      s.on("error", reject)
      s.listen(0, "127.0.0.1", () => {
        const port = (s.address() as net.AddressInfo).port
        s.close(() => resolve(port))
      })
    })
  )

/** Runs `socat args…` until the Scope closes; collects its stdout. */
export const socat = (
  args: ReadonlyArray<string>,
  stdin?: string
): Effect.Effect<{ readonly child: ChildProcess; readonly stdout: () => string; readonly exited: Promise<number | null> }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn("socat", [...args], { stdio: ["pipe", "pipe", "inherit"] })
      let out = ""
      child.stdout!.on("data", (d) => (out += d.toString()))
      // "close" comes after the exit and after Node has closed the stdio sockets.
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
      if (stdin !== undefined) child.stdin!.end(stdin)
      return { child, stdout: () => out, exited }
    }),
    ({ child, exited }) =>
      Effect.promise(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
        await exited
      })
  )

/** Waits until a TCP port accepts connections (a peer process starting up). */
export const waitForTcp = (port: number): Effect.Effect<void> =>
  Effect.promise(async () => {
    for (let i = 0; i < 200; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const c = net.connect(port, "127.0.0.1")
        let ok = false
        c.on("connect", () => {
          ok = true
          c.destroy()
        })
        c.on("error", () => {})
        // Resolve only once Node has closed the probe's fd.
        c.on("close", () => resolve(ok))
      })
      if (ok) return
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error(`port ${port} never accepted a connection`)
  })
