/**
 * Interoperability with Linux's own DCCP (6.1, in QEMU; see
 * scripts/dccp-peer): our client against the kernel's servers, the kernel's
 * client against our server, over raw IPv4 and IPv6, and DCCP-UDP through a
 * translating relay. Run by `npm run test:interop`, inside the peer's netns.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Dccp from "../../src/dccp/Dccp.ts"
import type { DccpError } from "../../src/dccp/DccpError.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { ctl, GUEST4, GUEST6, HOST4, HOST6, kpeerClient, udpRelay } from "./peer.ts"

const decoder = new TextDecoder()

// tshark on the tap between us and the guest records every native DCCP packet of
// the suite; the last test reads the capture back.
const TAP = process.env["MIO_DCCP_TAP"] ?? "miodccp0"
const captureDir = mkdtempSync(join(tmpdir(), "effect-mio-interop-"))
const captureFile = join(captureDir, "interop.pcapng")
let capture: ChildProcess | undefined
beforeAll(() =>
  new Promise<void>((resolve, reject) => {
    capture = spawn("tshark", ["-i", TAP, "-f", "ip proto 33 or ip6 proto 33", "-w", captureFile, "-q"], { stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    capture.stderr!.on("data", (d) => {
      err += d
      if (err.includes("Capture started")) resolve()
    })
    capture.on("exit", (code) => reject(new Error(`tshark exited ${code}: ${err}`)))
  }))
const stopCapture = () =>
  new Promise<void>((resolve) => {
    if (capture === undefined || capture.exitCode !== null) return resolve()
    capture.on("close", () => resolve())
    capture.kill("SIGINT")
  })
afterAll(async () => {
  await stopCapture()
  rmSync(captureDir, { recursive: true, force: true })
})

const failure = <A>(exit: Exit.Exit<A, DccpError>): DccpError => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const r = Exit.isFailure(exit) ? exit.cause.reasons.find((x) => x._tag === "Fail") : undefined
  assert.isTrue(r !== undefined && r._tag === "Fail", "a typed failure")
  return (r as { readonly error: DccpError }).error
}

/** Sends `count` datagrams and checks each echo. */
const echoes = (socket: Dccp.DccpSocket, count: number, prefix: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < count; i++) {
      const text = `${prefix}-${i}-${"x".repeat(i * 37)}`
      yield* socket.send(text)
      assert.strictEqual(decoder.decode(yield* socket.recv), text)
    }
  })

/** An echo server for the kernel's client. */
const serveEcho = (server: Dccp.DccpServer) =>
  Effect.forkChild(server.run((socket) =>
    Effect.gen(function*() {
      while (true) yield* socket.send(yield* socket.recv)
    }).pipe(Effect.ignore)
  ))

const families = [
  { name: "IPv4", guest: GUEST4, host: HOST4, target: (port: number) => `${GUEST4}:${port}`, bind: undefined },
  { name: "IPv6", guest: GUEST6, host: HOST6, target: (port: number) => `[${GUEST6}]:${port}`, bind: HOST6 }
] as const

describe("our client against Linux's DCCP servers (raw IP)", () => {
  checkFdLeaks()

  for (const f of families) {
    it.live(`${f.name}: echo with CCID 2, then a graceful close`, () =>
      Effect.gen(function*() {
        const socket = yield* Dccp.connect({ address: f.target(5001), serviceCode: 42, transport: "raw", ...(f.bind ? { bind: f.bind } : {}) })
        yield* echoes(socket, 12, f.name)
        const info = yield* socket.info
        assert.strictEqual(info.txCcid, 2)
        assert.strictEqual(info.rxCcid, 2)
        yield* socket.close
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }

  it.live("a second service code on the same port (\"ECHO\")", () =>
    Effect.gen(function*() {
      const socket = yield* Dccp.connect({ address: `${GUEST4}:5001`, serviceCode: "ECHO", transport: "raw" })
      yield* echoes(socket, 3, "echo-code")
      yield* socket.close
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a service code the kernel does not offer: Reset(Bad Service Code, 8)", () =>
    Effect.gen(function*() {
      const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect({ address: `${GUEST4}:5001`, serviceCode: 7, transport: "raw" }))))
      assert.strictEqual(e.kind, "BadServiceCode")
      assert.strictEqual(e.resetCode, 8)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("no listener on the port: Reset(No Connection, 3)", () =>
    Effect.gen(function*() {
      const e = failure(yield* Effect.exit(Effect.scoped(Dccp.connect({ address: `${GUEST4}:5002`, serviceCode: 42, transport: "raw" }))))
      assert.strictEqual(e.kind, "ConnectionRefused")
      assert.strictEqual(e.resetCode, 3)
    }).pipe(Effect.provide(Reactor.layer)))

  for (const [port, how] of [[5004, "CloseReq"], [5005, "Close (SERVER_TIMEWAIT)"]] as const) {
    it.live(`the server closes with ${how}: the greeting arrives, then the connection ends gracefully`, () =>
      Effect.gen(function*() {
        const socket = yield* Dccp.connect({ address: `${GUEST4}:${port}`, serviceCode: 42, transport: "raw" })
        assert.strictEqual(decoder.decode(yield* socket.recv), "hello from kernel dccp")
        const end = yield* Effect.flip(socket.recv)
        assert.strictEqual(end.kind, "Closed", end.message)
        const info = yield* socket.info
        assert.include(["CLOSED", "TIMEWAIT"], info.state)
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }

  it.live("partial checksum coverage (CsCov = 1) both ways", () =>
    Effect.gen(function*() {
      const socket = yield* Dccp.connect({
        address: `${GUEST4}:5006`,
        serviceCode: 42,
        transport: "raw",
        sendChecksumCoverage: 1,
        minimumChecksumCoverage: 1
      })
      yield* echoes(socket, 6, "cscov")
      yield* socket.close
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("Linux's DCCP client against our server (raw IP)", () => {
  checkFdLeaks()

  for (const f of families) {
    it.live(`${f.name}: the kernel connects, sends 8 messages and reads every echo`, () =>
      Effect.gen(function*() {
        const server = yield* Dccp.listen({ address: f.name === "IPv4" ? `${f.host}:6000` : `[${f.host}]:6000`, serviceCodes: [42], transport: "raw" })
        const serving = yield* serveEcho(server)
        const r = yield* kpeerClient(f.host, 6000, 42, 8, `from-the-kernel-{n}`)
        assert.strictEqual(r.error, undefined, r.lines.join("\n"))
        assert.strictEqual(r.ok, 8, r.lines.join("\n"))
        yield* Fiber.interrupt(serving)
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }
})

const relay = udpRelay(6511, 6512)

describe("DCCP-UDP (RFC 6773) through a translating relay to Linux's native DCCP", () => {
  checkFdLeaks()

  it.live("our DCCP-UDP client: echo with the kernel's server on port 5001", () =>
    Effect.gen(function*() {
      yield* relay
      const socket = yield* Dccp.connect({ address: "127.0.0.1:6511", dccpPort: 5001, serviceCode: 42 })
      yield* echoes(socket, 8, "over-udp")
      yield* socket.close
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("the kernel's client: echo with our DCCP-UDP server", () =>
    Effect.gen(function*() {
      yield* relay
      const server = yield* Dccp.listen({ address: "127.0.0.1:6512", dccpPort: 6001, serviceCodes: [42], resetUnknown: false })
      const serving = yield* serveEcho(server)
      const r = yield* kpeerClient(HOST4, 6001, 42, 5, "via-udp-{n}")
      assert.strictEqual(r.error, undefined, r.lines.join("\n"))
      assert.strictEqual(r.ok, 5, r.lines.join("\n"))
      yield* Fiber.interrupt(serving)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

describe("the wire, as tshark decodes it", () => {
  it.live("every native DCCP packet of the suite, ours and the kernel's, has a Good checksum; CsCov=1 flowed both ways on port 5006", () =>
    Effect.gen(function*() {
      yield* Effect.sleep(300)
      yield* Effect.promise(stopCapture)
      const out = execFileSync("tshark", [
        "-r", captureFile, "-T", "fields", "-E", "separator=|",
        "-e", "dccp.srcport", "-e", "dccp.dstport", "-e", "dccp.type", "-e", "dccp.cscov", "-e", "dccp.checksum.status", "-e", "_ws.expert.message"
      ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      const rows = out.trim().split("\n").filter((l) => l.length > 0).map((l) => l.split("|"))
      assert.isAbove(rows.length, 100, `captured ${rows.length} DCCP packets`)
      for (const [src, dst, type, , status, expert] of rows) {
        assert.strictEqual(status, "1", `checksum Good on ${src}→${dst} type ${type}`)
        assert.strictEqual(expert ?? "", "", `no expert info on ${src}→${dst} type ${type}: ${expert}`)
      }
      // Data-carrying packets (Data 2, DataAck 4) on the CsCov connection.
      const partial = rows.filter(([src, dst, type, cscov]) => (src === "5006" || dst === "5006") && (type === "2" || type === "4") && cscov === "1")
      assert.isTrue(partial.some(([src]) => src === "5006"), "the kernel sent CsCov=1 data")
      assert.isTrue(partial.some(([, dst]) => dst === "5006"), "we sent CsCov=1 data")
    }))
})

void ctl
