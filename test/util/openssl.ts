/**
 * `openssl s_server` and `openssl s_client` as peers we did not write, as scoped
 * Effects: the process is stopped (and reaped) when the Scope closes.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"

export interface OpensslPeer {
  readonly child: ChildProcess
  /** What it printed on stdout (and stderr) so far. */
  readonly output: () => string
  /** Its exit code, once it has exited. */
  readonly exited: Promise<number | null>
  /** Waits until its output contains `text`. */
  readonly waitFor: (text: string) => Effect.Effect<void>
}

/** Runs `openssl args…` until the Scope closes; `stdin` (if given) is written and not ended unless `end`. */
export const openssl = (
  args: ReadonlyArray<string>,
  options: { readonly stdin?: string; readonly end?: boolean } = {}
): Effect.Effect<OpensslPeer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn("openssl", [...args], { stdio: ["pipe", "pipe", "pipe"] })
      let out = ""
      const listeners = new Set<() => void>()
      const onData = (d: Buffer) => {
        out += d.toString()
        for (const l of listeners) l()
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      // "close" comes after the exit and after Node has closed the stdio pipes.
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
      if (options.stdin !== undefined) child.stdin!.write(options.stdin)
      if (options.end === true) child.stdin!.end()
      const waitFor = (text: string): Effect.Effect<void> =>
        Effect.callback<void>((resume) => {
          const check = () => {
            if (out.includes(text)) {
              listeners.delete(check)
              resume(Effect.void)
            }
          }
          listeners.add(check)
          check()
          void exited.then(() => {
            if (listeners.delete(check)) resume(Effect.die(new Error(`openssl exited before printing ${JSON.stringify(text)}:\n${out}`)))
          })
          return Effect.sync(() => listeners.delete(check))
        })
      return { child, output: () => out, exited, waitFor }
    }),
    ({ child, exited }) =>
      Effect.promise(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
        await exited
      })
  )
