/**
 * The kernel peer from the tests' side: addresses (from the harness's
 * environment, with its defaults), the guest's control port, and the guest's
 * DCCP client program (`kpeer`). These tests run inside the harness's network
 * namespace (`scripts/interop.sh`).
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

export const HOST4 = process.env["MIO_DCCP_HOST4"] ?? "10.77.0.1"
export const GUEST4 = process.env["MIO_DCCP_GUEST4"] ?? "10.77.0.2"
export const HOST6 = process.env["MIO_DCCP_HOST6"] ?? "fd77::1"
export const GUEST6 = process.env["MIO_DCCP_GUEST6"] ?? "fd77::2"
const CTL_PORT = Number(process.env["MIO_DCCP_CTL_PORT"] ?? 7000)

/** Runs a shell command in the guest; its output and exit status. */
export const ctl = (command: string): Effect.Effect<{ readonly output: string; readonly status: number }, Error> =>
  Effect.callback((resume) => {
    const socket = net.connect(CTL_PORT, GUEST4, () => socket.write(`#rc ${command}\n`))
    let data = ""
    socket.setEncoding("latin1")
    socket.on("data", (d) => (data += d))
    socket.on("error", (e) => resume(Effect.fail(e)))
    socket.on("close", () => {
      const marker = data.lastIndexOf("\0EXIT ")
      if (marker < 0) return resume(Effect.fail(new Error(`no exit status from the guest: ${data}`)))
      resume(Effect.succeed({ output: data.slice(0, marker), status: Number(data.slice(marker + 6).trim()) }))
    })
    return Effect.sync(() => socket.destroy())
  })

/** The `RESULT` line of a `kpeer client` run, parsed. */
export interface KpeerResult {
  readonly ok: number
  readonly total: number
  readonly error: string | undefined
  readonly lines: ReadonlyArray<string>
}

/**
 * The guest's kernel DCCP client: connects to `host:port` with `service`,
 * sends `count` messages (`{n}` is the message number) and reads the echoes.
 */
export const kpeerClient = (
  host: string,
  port: number,
  service: number,
  count: number,
  message: string,
  options: { readonly ccid?: number; readonly timeoutMs?: number } = {}
): Effect.Effect<KpeerResult, Error> =>
  Effect.map(
    ctl(`kpeer client ${host} ${port} ${service} ${count} ${message} ${options.ccid ?? 2} ${options.timeoutMs ?? 8000}`),
    ({ output }) => {
      const lines = output.trim().split("\n")
      const result = lines.find((l) => l.startsWith("RESULT")) ?? ""
      const ok = /ok=(\d+)\/(\d+)/.exec(result)
      const error = /error=(\S+)/.exec(result)?.[1]
      return { ok: Number(ok?.[1] ?? 0), total: Number(ok?.[2] ?? 0), error, lines }
    }
  )
