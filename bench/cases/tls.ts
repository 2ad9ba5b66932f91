/**
 * TLS over TCP (issue 14, item 6): our `reader.upgrade` (node:tls over our
 * connection, driven by the reactor) against Node's own `tls` (node:tls over
 * libuv's socket), in the same run — bulk throughput and 64 B round trips after
 * the handshake. A third variant runs Node's own tls over a JavaScript Duplex
 * (forwarding to a net.Socket): node:tls's JavaScript-stream path, which every
 * design that hands node:tls a Duplex — ours included — goes through, so it
 * separates that path's cost from ours. The certificate (ECDSA P-256, a throwaway CA) is made with the
 * openssl CLI in a temporary directory at the start of the run.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { type Case, extras, field, LATENCY_EXTRAS, type RunContext, type Sample, type Variant, warmupMs } from "../lib/bench.ts"
import { runPair } from "../lib/pairs.ts"
import { CROSS, type Placement, SAME } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

const CHUNK = 65536
const SIZE = 64

/** The server's key and certificate and the CA, made once per runner process. */
let pki: { readonly key: string; readonly cert: string; readonly ca: string } | undefined
const certificates = () => {
  if (pki !== undefined) return pki
  const dir = mkdtempSync(path.join(tmpdir(), "effect-mio-bench-tls-"))
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }))
  const f = (name: string) => path.join(dir, name)
  const openssl = (...args: Array<string>) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] })
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
  openssl("req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=effect-mio bench CA")
  openssl("req", "-new", ...ec, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=localhost")
  writeFileSync(f("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
  openssl(
    "x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial",
    "-days", "2", "-out", f("server.pem"), "-extfile", f("server.ext")
  )
  pki = { key: f("server.key"), cert: f("server.pem"), ca: f("ca.pem") }
  return pki
}

type Impl = "ours" | "node" | "nodejs"

const identity = (): Array<string> => {
  const p = certificates()
  return ["--key", p.key, "--cert", p.cert]
}

const bulk = (recv: Impl, send: Impl) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const bytes = ctx.quick ? 256 * 2 ** 20 : 2 ** 30
    const secs = ctx.quick ? 2 : 5
    const server: Program = { peer: "tls", args: ["--mode", "bulk", "--role", "recv", "--impl", recv, "--chunk", CHUNK, ...identity()] }
    const client = (port: number | "stdin"): Program => ({
      peer: "tls",
      args: ["--mode", "bulk", "--role", "send", "--impl", send, "--port", port, "--bytes", bytes, "--secs", secs, "--chunk", CHUNK, "--ca", certificates().ca]
    })
    // The sender finishes first; the receiver's figure is the one reported.
    await runPair(s, { server, client, at: CROSS })
    const receiver = await s.procs[0]!.result(30_000)
    return { value: field(receiver, "mib_s"), extra: extras(receiver, ["secs"]) }
  })

const rtt = (impl: Impl, at: Placement) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const rounds = ctx.quick ? 3000 : 10000
    const warmup = ctx.quick ? 1000 : 3000
    const r = await runPair(s, {
      server: { peer: "tls", args: ["--mode", "rtt", "--role", "server", "--impl", impl, ...identity()] },
      client: (port) => ({
        peer: "tls",
        args: [
          "--mode", "rtt", "--role", "client", "--impl", impl, "--port", port, "--size", SIZE,
          "--rounds", rounds, "--warmup", warmup, "--warmup-ms", warmupMs(ctx), "--ca", certificates().ca
        ]
      }),
      at
    })
    return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
  })

const bulkVariant = (name: string, recv: Impl, send: Impl, ref = false): Variant => ({
  name,
  placement: CROSS.label,
  ref,
  run: bulk(recv, send)
})

const rttVariant = (name: string, impl: Impl, at: Placement, ref = false): Variant => ({ name, placement: at.label, ref, run: rtt(impl, at) })

/** The same ping-pong without TLS (bench/peers/tcp_rtt.ts), for context: what TLS adds on each stack. */
const plainRtt = (impl: "fiber" | "node", at: Placement) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const rounds = ctx.quick ? 3000 : 10000
    const warmup = ctx.quick ? 1000 : 3000
    const r = await runPair(s, {
      server: { peer: "tcp_rtt", args: ["--role", "server", "--impl", impl] },
      client: (port) => ({
        peer: "tcp_rtt",
        args: ["--role", "client", "--impl", impl, "--port", port, "--size", SIZE, "--rounds", rounds, "--warmup", warmup, "--warmup-ms", warmupMs(ctx)]
      }),
      at
    })
    return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
  })

const rttCase = (at: Placement): Case => ({
  id: at === SAME ? "tls-rtt-same" : "tls-rtt-cross",
  group: "tls",
  title: `TLS ping-pong RTT 64 B, ${at.label} (µs)`,
  unit: "µs",
  better: "lower",
  delta: true,
  method:
    "After the handshake (TLS 1.3, ECDSA P-256), the client sends 64 B and waits for the echo, 10,000 round trips after a 3,000 warm-up " +
    "and 1 s; the value is the client's mean round trip. Both ends are the named implementation (TCP_NODELAY). " +
    "The two context rows run the same ping-pong without TLS (bench/peers/tcp_rtt.ts). " +
    `Server on CPU ${at.a}, client on CPU ${at.b}.`,
  variants: [
    rttVariant("Node tls <-> Node tls", "node", at, true),
    rttVariant("Node tls over a JS Duplex <-> same (node:tls's JS-stream path)", "nodejs", at),
    rttVariant("ours (Tcp + reader.upgrade, park) <-> same", "ours", at),
    { name: "context, no TLS: Node net <-> same", placement: at.label, run: plainRtt("node", at) },
    { name: "context, no TLS: ours (Tcp, park) <-> same", placement: at.label, run: plainRtt("fiber", at) }
  ]
})

export const cases: ReadonlyArray<Case> = [
  {
    id: "tls-bulk",
    group: "tls",
    title: "TLS bulk, 1 connection, 64 KiB writes, 1 GiB or 5 s (MiB/s of plaintext)",
    unit: "MiB/s",
    better: "higher",
    method:
      "After the handshake (TLS 1.3, AES-256-GCM, ECDSA P-256), the sender writes 64 KiB plaintext chunks (1 GiB, or until 5 s) and " +
      "ends the stream; the receiver reports plaintext bytes / (end of stream − end of handshake). Receiver on CPU 0, sender on CPU 1.",
    variants: [
      bulkVariant("Node tls -> Node tls", "node", "node", true),
      bulkVariant("Node tls over a JS Duplex -> same (node:tls's JS-stream path)", "nodejs", "nodejs"),
      bulkVariant("ours -> ours (Tcp + reader.upgrade, park)", "ours", "ours"),
      bulkVariant("Node tls sender -> ours receiver", "ours", "node"),
      bulkVariant("ours sender -> Node tls receiver", "node", "ours")
    ]
  },
  rttCase(SAME),
  rttCase(CROSS)
]
