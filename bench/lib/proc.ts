/**
 * Child processes of a benchmark run: C programs from `native/build/` and our
 * Node peers from `bench/peers/` (run with `node --import tsx`), each optionally
 * pinned to a CPU with `taskset -c`, optionally given extra inherited fds (which
 * become fds 3, 4, … in the child). Every process prints JSON lines on stdout;
 * a `Session` owns the processes of one run and kills what is left at the end.
 */
import { type ChildProcess, execFileSync, spawn, type StdioOptions } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const NATIVE = path.join(ROOT, "native", "build")
const PEERS = path.join(ROOT, "bench", "peers")
const BUNDLES = path.join(ROOT, "bench", ".build")
/** The base tree of an A/B run (`--base <ref>`): its `src/` and `bench/peers/`, and their bundles. */
const BASE_TREE = path.join(ROOT, "bench", ".base")
const BASE_BUNDLES = path.join(ROOT, "bench", ".build-base")

let bundled = false
let baseBundled = false

/**
 * Bundles every peer (`bench/peers/*.ts`, not `common.ts`) into one ESM file each
 * under `bench/.build/`, so a peer starts in about 0.1 s instead of the ~0.6–0.9 s
 * `node --import tsx` needs to load and transform Effect's module graph. The code
 * that runs is the same; without esbuild, peers run through tsx.
 */
export const bundlePeers = async (): Promise<string> => {
  let esbuild: typeof import("esbuild")
  try {
    esbuild = await import("esbuild")
  } catch {
    return "esbuild not found: peers run with node --import tsx (slower start-up)"
  }
  const entryPoints = readdirSync(PEERS).filter((f) => f.endsWith(".ts") && f !== "common.ts").map((f) => path.join(PEERS, f))
  await esbuild.build({
    entryPoints,
    outdir: BUNDLES,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["koffi", "@effect/platform-node", "@effect/platform-node/*", "node-kcp", "node-kcp/*"],
    banner: { js: `import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);` },
    logLevel: "error"
  })
  bundled = true
  return `peers bundled with esbuild ${esbuild.version} into bench/.build/`
}

/**
 * Extracts `src/` and `bench/peers/` of git `ref` into `bench/.base/` and
 * bundles those peers into `bench/.build-base/`, so that a case can run the
 * same peer built from the base commit and from the working tree in one run
 * (A/B). They resolve `effect` and `koffi` from this checkout's node_modules.
 */
export const bundleBase = async (ref: string): Promise<string> => {
  rmSync(BASE_TREE, { recursive: true, force: true })
  mkdirSync(BASE_TREE, { recursive: true })
  const archive = path.join(BASE_TREE, "base.tar")
  execFileSync("git", ["-C", ROOT, "archive", "--output", archive, ref, "src", "bench/peers"])
  execFileSync("tar", ["-x", "-f", archive, "-C", BASE_TREE])
  let esbuild: typeof import("esbuild")
  try {
    esbuild = await import("esbuild")
  } catch {
    return `base ${ref} extracted into bench/.base/ (esbuild not found: its peers run with tsx)`
  }
  const peers = path.join(BASE_TREE, "bench", "peers")
  await esbuild.build({
    entryPoints: readdirSync(peers).filter((f) => f.endsWith(".ts") && f !== "common.ts").map((f) => path.join(peers, f)),
    outdir: BASE_BUNDLES,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    nodePaths: [path.join(ROOT, "node_modules")],
    external: ["koffi", "@effect/platform-node", "@effect/platform-node/*"],
    banner: { js: `import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);` },
    logLevel: "error"
  })
  baseBundled = true
  return `base ${ref} bundled into bench/.build-base/`
}

/** What to start. A peer with `tree: "base"` is the base commit's (`bundleBase`). */
export type Program =
  | { readonly c: string; readonly args?: ReadonlyArray<string | number> }
  | {
    readonly peer: string
    readonly args?: ReadonlyArray<string | number>
    readonly nodeArgs?: ReadonlyArray<string>
    readonly tree?: "base" | undefined
  }

export interface SpawnOptions {
  /** A label for messages. */
  readonly name: string
  readonly program: Program
  /** `taskset -c` CPU list; unpinned when absent. */
  readonly cpu?: string | undefined
  /** Parent fds to pass as the child's fds 3, 4, …. */
  readonly fds?: ReadonlyArray<number> | undefined
}

type Json = Record<string, unknown>

/** One running child. */
export class Proc {
  readonly name: string
  /** A Node peer (not a C program). */
  readonly isNode: boolean
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  #lines: Array<Json> = []
  #waiters: Array<{ pred: (j: Json) => boolean; resolve: (j: Json) => void; reject: (e: Error) => void }> = []
  #stderr = ""
  #exitCode: number | null | undefined = undefined

  constructor(options: SpawnOptions) {
    this.name = options.name
    const { program } = options
    this.isNode = "peer" in program
    let cmd: string, args: Array<string>
    if ("c" in program) {
      cmd = path.join(NATIVE, program.c)
      args = (program.args ?? []).map(String)
    } else {
      cmd = process.execPath
      const base = program.tree === "base"
      if (base && !existsSync(BASE_TREE)) throw new Error(`${program.peer}: the base tree is not there (bundleBase first)`)
      const bundle = path.join(base ? BASE_BUNDLES : BUNDLES, `${program.peer}.mjs`)
      const entry = (base ? baseBundled : bundled) && existsSync(bundle)
        ? [bundle]
        : ["--import", "tsx", path.join(base ? path.join(BASE_TREE, "bench", "peers") : PEERS, `${program.peer}.ts`)]
      args = [...(program.nodeArgs ?? []), ...entry, ...(program.args ?? []).map(String)]
    }
    if (options.cpu !== undefined) {
      args = ["-c", options.cpu, cmd, ...args]
      cmd = "taskset"
    }
    const stdio: StdioOptions = ["pipe", "pipe", "pipe", ...(options.fds ?? [])]
    this.child = spawn(cmd, args, { cwd: ROOT, stdio, env: { ...process.env, NODE_NO_WARNINGS: "1" } })
    let buf = ""
    this.child.stdout!.setEncoding("utf8")
    this.child.stdout!.on("data", (chunk: string) => {
      buf += chunk
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i).trim()
        buf = buf.slice(i + 1)
        if (line.startsWith("{")) {
          try {
            this.#push(JSON.parse(line) as Json)
          } catch {
            this.#stderr += `[unparsed stdout] ${line}\n`
          }
        }
      }
    })
    this.child.stderr!.setEncoding("utf8")
    this.child.stderr!.on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000)
    })
    this.child.stdin!.on("error", () => {})
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.#exitCode = code ?? (signal === null ? null : -1)
        const err = new Error(`${this.name} exited (${code ?? signal}) before printing the expected result${this.stderrTail()}`)
        for (const w of this.#waiters) w.reject(err)
        this.#waiters = []
        resolve(code)
      })
      this.child.on("error", (e) => {
        this.#exitCode = -1
        for (const w of this.#waiters) w.reject(e)
        this.#waiters = []
        resolve(-1)
      })
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get running(): boolean {
    return this.#exitCode === undefined
  }

  stderrTail(): string {
    const t = this.#stderr.trim()
    return t === "" ? "" : `\n--- ${this.name} stderr ---\n${t.split("\n").slice(-15).join("\n")}`
  }

  #push(j: Json): void {
    const i = this.#waiters.findIndex((w) => w.pred(j))
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1)
      w!.resolve(j)
    } else {
      this.#lines.push(j)
    }
  }

  /** The next JSON line matching `pred` (default: any), failing on exit or after `timeoutMs`. */
  json(pred: (j: Json) => boolean = () => true, timeoutMs = 60_000): Promise<Json> {
    const i = this.#lines.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.#lines.splice(i, 1)[0]!)
    if (!this.running) return Promise.reject(new Error(`${this.name} has exited${this.stderrTail()}`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done)
        reject(new Error(`${this.name}: no result within ${timeoutMs} ms${this.stderrTail()}`))
      }, timeoutMs)
      const done = (j: Json) => {
        clearTimeout(timer)
        resolve(j)
      }
      this.#waiters.push({
        pred,
        resolve: done,
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        }
      })
    })
  }

  /** The `{"ready":true,"port":N}` line of a server: its port. */
  async ready(timeoutMs = 30_000): Promise<number> {
    const j = await this.json((l) => l["ready"] === true, timeoutMs)
    return Number(j["port"] ?? 0)
  }

  /** The final result line (the first line that is neither `ready` nor a `phase` report). */
  result(timeoutMs = 60_000): Promise<Json> {
    return this.json((l) => l["ready"] === undefined && l["phase"] === undefined, timeoutMs)
  }

  writeLine(line: string): void {
    if (this.running) this.child.stdin!.write(`${line}\n`)
  }

  /** Resident set size in KiB, from /proc (0 once exited). */
  rssKiB(): number {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"))
      return m === null ? 0 : Number(m[1])
    } catch {
      return 0
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 1000): Promise<void> {
    if (!this.running) return
    this.child.kill("SIGTERM")
    const t = setTimeout(() => {
      if (this.running) this.child.kill("SIGKILL")
    }, graceMs)
    await this.exited
    clearTimeout(t)
  }
}

const live = new Set<Proc>()

/** Kills every child still running (the runner's SIGINT / SIGTERM handler). */
export const killAll = (): void => {
  for (const p of live) if (p.running) p.child.kill("SIGKILL")
}

/** The processes of one run; `close` stops whatever is still running. */
export class Session {
  readonly procs: Array<Proc> = []

  spawn(options: SpawnOptions): Proc {
    const p = new Proc(options)
    this.procs.push(p)
    live.add(p)
    void p.exited.then(() => live.delete(p))
    return p
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()))
  }
}

/** Runs `f` with a fresh session and always stops its processes. */
export const withSession = async <A>(f: (s: Session) => Promise<A>): Promise<A> => {
  const s = new Session()
  try {
    return await f(s)
  } finally {
    await s.close()
  }
}
