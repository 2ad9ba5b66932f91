/**
 * The package as a consumer gets it (issue 14): `npm pack` (which builds
 * `dist/` through `prepack`), the tarball installed into a fresh project that
 * depends only on `effect` (and `@types/node`, as any Node project has), a program run with plain `node`, and a strict type
 * check with `tsc` — with and without `skipLibCheck`, and with the
 * `customConditions: ["source"]` a monorepo commonly sets (which must not pull
 * in our sources).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../..")
const tsc = join(root, "node_modules/.bin/tsc")
const run = (cmd: string, args: ReadonlyArray<string>, cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 240_000 })

const program = `import { Effect } from "effect"
import * as Socket from "effect/socket/Socket"
import { Reactor, SocketAddress, Tcp } from "effect-mio"
import { SimNet } from "effect-mio/testing"

const echo = Effect.gen(function*() {
  const server = yield* Tcp.listen("127.0.0.1:0")
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const { pull } = yield* socket.reader
      const writer = yield* socket.writer
      while (true) yield* writer.writeAll(yield* pull)
    })).pipe(Effect.ignore)))
  const address = SocketAddress.format(server.address as SocketAddress.SocketAddress)
  const client = yield* Tcp.connect(address)
  const pull = yield* Socket.readerString(client)
  const writer = yield* client.writer
  yield* writer.write("hello from a consumer")
  return (yield* pull).join("")
}).pipe(Effect.scoped, Effect.provide(Reactor.layer))

const simulated = Effect.scoped(Effect.gen(function*() {
  const net = yield* SimNet.make({ seed: 1, latency: 5 })
  const [a, b] = yield* net.pair()
  yield* a.send(new TextEncoder().encode("over SimNet"))
  yield* net.drive()
  const buffer = new Uint8Array(64)
  const n = yield* b.recv(buffer)
  return new TextDecoder().decode(buffer.subarray(0, n))
}))

const [reply, sim] = await Effect.runPromise(Effect.all([echo, simulated]))
console.log(JSON.stringify({ reply, sim }))
`

describe("the published package, from a consumer's project", () => {
  it("packs, installs with only effect beside it, runs with plain node and type-checks strictly", () => {
    const dir = mkdtempSync(join(tmpdir(), "effect-mio-consumer-"))
    try {
      const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", dir], root)) as Array<{ filename: string; files: Array<{ path: string }> }>
      const tarball = join(dir, packed[0]!.filename)
      const files = packed[0]!.files.map((f) => f.path)
      assert.include(files, "dist/index.js")
      assert.include(files, "dist/index.d.ts")
      assert.include(files, "LICENSE")
      const versionOf = (name: string) => (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version
      const project = join(dir, "consumer")
      run("mkdir", ["-p", project], dir)
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { effect: versionOf("effect"), "effect-mio": `file:${tarball}` }, devDependencies: { "@types/node": versionOf("@types/node") } }))
      run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], project)
      const manifest = JSON.parse(readFileSync(join(project, "node_modules/effect-mio/package.json"), "utf8")) as {
        exports: Record<string, Record<string, string>>
        os: ReadonlyArray<string>
        cpu: ReadonlyArray<string>
      }
      assert.notProperty(manifest.exports["."], "source", "no dev-only condition a consumer might set")
      // npm matches `os` and `cpu` against process.platform and process.arch: only such names belong there
      assert.deepStrictEqual(manifest.os, ["linux"])
      for (const cpu of manifest.cpu) assert.include(["x64", "arm64"], cpu)

      writeFileSync(join(project, "program.ts"), program)
      writeFileSync(join(project, "program.mjs"), program.replace(" as SocketAddress.SocketAddress", ""))
      const out = JSON.parse(run("node", ["program.mjs"], project).trim()) as { reply: string; sim: string }
      assert.deepStrictEqual(out, { reply: "hello from a consumer", sim: "over SimNet" })

      for (const [name, extra] of [
        ["skipLibCheck", { skipLibCheck: true }],
        ["full lib check", { skipLibCheck: false }],
        ["customConditions source", { skipLibCheck: false, customConditions: ["source"] }]
      ] as const) {
        writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
          compilerOptions: { target: "ES2022", module: "nodenext", moduleResolution: "nodenext", strict: true, exactOptionalPropertyTypes: true, noEmit: true, types: ["node"], ...extra },
          files: ["program.ts"]
        }))
        try {
          run(tsc, ["-p", "."], project)
        } catch (e) {
          assert.fail(`tsc (${name}) failed:\n${(e as { stdout?: string }).stdout ?? e}`)
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
