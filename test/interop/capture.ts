/**
 * tshark on the tap between us and the guest, for the Scope of a test file:
 * every native DCCP packet (IPv4 and IPv6) goes to a pcapng file, read back
 * with `fields` once the capture stopped.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const TAP = process.env["MIO_DCCP_TAP"] ?? "miodccp0"

export interface Capture {
  /** Resolves once tshark captures. */
  readonly start: () => Promise<void>
  /** Stops the capture (idempotent). */
  readonly stop: () => Promise<void>
  /** The captured packets' `fields`, one array per packet (after `stop`). */
  readonly fields: (fields: ReadonlyArray<string>) => Array<Array<string>>
  /** Removes the capture file. */
  readonly remove: () => void
}

export const capture = (name: string): Capture => {
  const dir = mkdtempSync(join(tmpdir(), `effect-mio-${name}-`))
  const file = join(dir, `${name}.pcapng`)
  let child: ChildProcess | undefined
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child === undefined || child.exitCode !== null) return resolve()
      child.on("close", () => resolve())
      child.kill("SIGINT")
    })
  return {
    start: () =>
      new Promise<void>((resolve, reject) => {
        child = spawn("tshark", ["-i", TAP, "-f", "ip proto 33 or ip6 proto 33", "-w", file, "-q"], { stdio: ["ignore", "ignore", "pipe"] })
        let err = ""
        child.stderr!.on("data", (d) => {
          err += d
          if (err.includes("Capture started")) resolve()
        })
        child.on("exit", (code) => reject(new Error(`tshark exited ${code}: ${err}`)))
      }),
    stop,
    fields: (fields) => {
      const out = execFileSync("tshark", ["-r", file, "-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"]
      })
      return out.trim().split("\n").filter((l) => l.length > 0).map((l) => l.split("|"))
    },
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}
