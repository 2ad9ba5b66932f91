/**
 * The kernel peer from the tests' side: addresses (from the harness's
 * environment, with its defaults), the guest's control port, and the guest's
 * DCCP client program (`kpeer`). These tests run inside the harness's network
 * namespace (`scripts/interop.sh`).
 */
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as net from "node:net"
import { fileURLToPath } from "node:url"

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
  options: { readonly ccid?: number | string; readonly timeoutMs?: number } = {}
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

/**
 * The kernel's TFRC state as kpeer records it, in the kernel's units
 * (`struct tfrc_tx_info` / `tfrc_rx_info`: X and X_recv of the sender in
 * 64ths of bytes/s, times in µs, p in millionths).
 */
export interface KernelTfrc {
  readonly tx: { readonly x: number; readonly xRecv: number; readonly xCalc: number; readonly rtt: number; readonly p: number; readonly rto: number; readonly ipi: number } | undefined
  readonly rx: { readonly xRecv: number; readonly rtt: number; readonly p: number } | undefined
}

/** The `tfrc_tx=` / `tfrc_rx=` fields of a kpeer line. */
export const parseTfrc = (line: string): KernelTfrc => {
  const tx = /tfrc_tx=(\d+),(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(line)?.slice(1).map(Number)
  const rx = /tfrc_rx=(\d+),(\d+),(\d+)/.exec(line)?.slice(1).map(Number)
  return {
    tx: tx === undefined ? undefined : { x: tx[0]!, xRecv: tx[1]!, xCalc: tx[2]!, rtt: tx[3]!, p: tx[4]!, rto: tx[5]!, ipi: tx[6]! },
    rx: rx === undefined ? undefined : { xRecv: rx[0]!, rtt: rx[1]!, p: rx[2]! }
  }
}

/**
 * The guest's record of the last finished server connection on `port` from a
 * peer whose address starts with `peer` (`10.77.0.1:`, `[fd77::1]:`). The
 * guest writes it once its side has closed, so this waits for it (up to 5 s)
 * when `newerThan` records of that kind existed before.
 */
export const serverConnection = (port: number, peer: string, newerThan = 0): Effect.Effect<string, Error> =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 50; attempt++) {
      const lines = yield* serverConnections(port, peer)
      if (lines.length > newerThan) return lines.at(-1)!
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.fail(new Error(`the guest recorded no new connection on ${port} from ${peer}`))
  })

/** Every record of finished server connections on `port` from peers starting with `peer`. */
export const serverConnections = (port: number, peer: string): Effect.Effect<Array<string>, Error> =>
  Effect.map(ctl("cat /run/kpeer/connections"), ({ output }) =>
    output.trim().split("\n").filter((l) => l.startsWith(`port=${port} peer=${peer}`)))

/**
 * Runs the harness's DCCP-UDP ↔ native relay for the Scope (we are already
 * inside the netns): DCCP-UDP datagrams to 127.0.0.1:`listenPort` reach the
 * guest's native DCCP, and the guest's answers come back from `serverUdpPort`.
 */
export const udpRelay = (listenPort: number, serverUdpPort: number) =>
  Effect.acquireRelease(
    Effect.callback<ReturnType<typeof spawn>, Error>((resume) => {
      const script = fileURLToPath(new URL("../../scripts/dccp-peer/host/dccp_udp_relay.py", import.meta.url))
      const args = [script, "--guest", GUEST4, "--local", HOST4, "--listen", `127.0.0.1:${listenPort}`, "--server-udp", `127.0.0.1:${serverUdpPort}`, "--quiet"]
      const child = spawn("python3", args, { stdio: ["ignore", "pipe", "inherit"] })
      child.stdout!.on("data", (d) => {
        if (String(d).includes("relay: ready")) resume(Effect.succeed(child))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`relay exited ${code}`))))
    }),
    (child) =>
      Effect.callback<void>((resume) => {
        child.on("close", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )
