/**
 * tshark, a decoder we did not write, reads our raw-IP DCCP packets: every one
 * dissects as DCCP with checksum status Good and raises no expert warning.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { execFileSync, spawn } from "node:child_process"
import { createSocket } from "node:dgram"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Dccp from "../../src/dccp/Dccp.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** A UDP port the capture also records, for the marker datagrams below. */
const MARKER_PORT = 9

/**
 * Captures DCCP on loopback for the Scope's duration; the file is read after.
 *
 * libpcap hands packets to dumpcap a TPACKET_V3 block at a time, and a block
 * that is partly filled when the capture stops can be lost: on this kernel the
 * block's timeout retires it only when another packet arrives. So, before
 * stopping, the capture is flushed with marker datagrams (UDP to port 9,
 * excluded from the analysis), sent after the block timeout.
 */
const capture = (file: string) =>
  Effect.acquireRelease(
    Effect.callback<ReturnType<typeof spawn>, Error>((resume) => {
      const filter = `ip proto 33 or (udp and dst port ${MARKER_PORT})`
      const child = spawn("tshark", ["-i", "lo", "-f", filter, "-w", file, "-q"], { stdio: ["ignore", "ignore", "pipe"] })
      let err = ""
      child.stderr!.on("data", (d) => {
        err += d
        // dumpcap reports "Capture started" once packets are being written.
        if (err.includes("Capture started")) resume(Effect.succeed(child))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`tshark exited ${code}: ${err}`))))
    }),
    (child) =>
      Effect.gen(function*() {
        const marker = createSocket("udp4")
        for (let i = 0; i < 3; i++) {
          yield* Effect.sleep(600)
          yield* Effect.callback<void>((resume) => marker.send("flush", MARKER_PORT, "127.0.0.1", () => resume(Effect.void)))
        }
        marker.close()
        yield* Effect.callback<void>((resume) => {
          child.on("close", () => resume(Effect.void))
          child.kill("SIGINT")
        })
      })
  )

describe("tshark decodes our raw DCCP", () => {
  checkFdLeaks()

  it.live("every packet of a handshake, exchange and close is DCCP with a Good checksum, no expert info", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "effect-mio-tshark-"))
      const file = join(dir, "dccp.pcapng")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* capture(file)
        const port = 30000 + (process.pid % 20000)
        const server = yield* Dccp.listen({ address: `127.0.0.1:${port}`, serviceCodes: [42], transport: "raw" })
        const serving = yield* Effect.forkChild(server.run((socket) =>
          Effect.gen(function*() {
            while (true) yield* socket.send(yield* socket.recv)
          }).pipe(Effect.ignore)
        ))
        yield* Effect.scoped(Effect.gen(function*() {
          const socket = yield* Dccp.connect({ address: `127.0.0.1:${port}`, serviceCode: 42, transport: "raw" })
          for (let i = 0; i < 10; i++) {
            yield* socket.send(`hello ${i} ${"x".repeat(i * 100)}`)
            yield* socket.recv
          }
          yield* socket.close
        }))
        yield* Fiber.interrupt(serving)
      }))
      const fields = execFileSync("tshark", [
        "-r", file, "-Y", "dccp", "-T", "fields", "-E", "separator=|",
        "-e", "dccp.type", "-e", "dccp.checksum.status", "-e", "_ws.expert.message"
      ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      rmSync(dir, { recursive: true, force: true })
      const rows = fields.trim().split("\n").filter((l) => l.length > 0).map((l) => l.split("|"))
      const types = new Set(rows.map((r) => r[0]))
      assert.isAtLeast(rows.length, 20, `captured ${rows.length} packets`)
      for (const t of ["0", "1", "2", "3", "4", "6", "7"]) {
        assert.isTrue(types.has(t), `packet type ${t} was seen (types: ${[...types].join(",")})`)
      }
      for (const [type, status, expert] of rows) {
        assert.strictEqual(status, "1", `a DCCP ${type} packet has checksum status Good`)
        assert.strictEqual(expert ?? "", "", `no expert info on a DCCP ${type} packet: ${expert}`)
      }
    }).pipe(Effect.provide(Reactor.layer)))
})
