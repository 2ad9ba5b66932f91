/**
 * Every TypeScript block in README.md and docs/*.md is a program that compiles
 * (issue 14): a reader can copy it. A block fenced ```ts is type-checked as a
 * module of its own against the package (imports by name, as a user writes
 * them); ```ts run is also run with tsx and must exit 0 within 60 s (blocks
 * that need only loopback); ```ts test is a test file, also run with vitest.
 * Output and failures name the document and line.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../..")
const workDir = join(root, ".docs-check")

interface Block {
  readonly doc: string
  readonly line: number
  readonly run: "tsx" | "vitest" | undefined
  readonly code: string
  readonly file: string
}

const documents = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]

const blocks: Array<Block> = []
for (const doc of documents) {
  const text = readFileSync(join(root, doc), "utf8")
  const fence = /^```([^\n]*)\n([\s\S]*?)^```$/gm
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    const info = m[1]!.trim().split(/\s+/)
    if (info[0] !== "ts" && info[0] !== "typescript") continue
    const line = text.slice(0, m.index).split("\n").length
    const run = info.includes("run") ? "tsx" : info.includes("test") ? "vitest" : undefined
    const name = `${doc.replace(/[/.]/g, "_")}_${line}${run === "vitest" ? ".test" : ""}.ts`
    blocks.push({ doc, line, run, code: m[2]!, file: join(workDir, name) })
  }
}

describe("code blocks in README.md and docs/", () => {
  it("there are blocks to check", () => {
    assert.isAbove(blocks.length, 10)
  })

  it("every ```ts block compiles against the package", () => {
    rmSync(workDir, { recursive: true, force: true })
    mkdirSync(workDir, { recursive: true })
    for (const b of blocks) writeFileSync(b.file, b.code)
    writeFileSync(join(workDir, "tsconfig.json"), JSON.stringify({
      extends: "../tsconfig.json",
      compilerOptions: { noUnusedLocals: false, noUnusedParameters: false },
      include: ["*.ts"]
    }))
    writeFileSync(join(workDir, "vitest.config.ts"), [
      `import "../src/testing/node20.ts"`,
      `import { defineConfig } from "vitest/config"`,
      `export default defineConfig({`,
      `  resolve: {`,
      `    conditions: ["effect-mio-source"],`,
      `    alias: [`,
      `      { find: /^effect-mio\\/testing$/, replacement: ${JSON.stringify(join(root, "src/testing/index.ts"))} },`,
      `      { find: /^effect-mio$/, replacement: ${JSON.stringify(join(root, "src/index.ts"))} }`,
      `    ]`,
      `  },`,
      `  test: { include: ["*.test.ts"], pool: "forks", testTimeout: 30_000 }`,
      `})`
    ].join("\n"))
    let output = ""
    try {
      execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", workDir], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    } catch (e) {
      output = (e as { stdout?: string }).stdout ?? String(e)
    }
    // Name the document and line of each error instead of the scratch file.
    const located = output.replace(/\.docs-check\/([A-Za-z0-9_]+?)_md_(\d+)(?:\.test)?\.ts\((\d+),(\d+)\)/g, (_, doc: string, line: string, l: string) =>
      `${doc.replace(/_/g, "/")}.md:${Number(line) + Number(l)}`)
    assert.strictEqual(located.trim(), "", "documentation blocks that do not compile")
  }, 120_000)

  for (const b of blocks.filter((x) => x.run !== undefined)) {
    it(`${b.doc}:${b.line} runs`, () => {
      const [command, args] = b.run === "tsx"
        ? [join(root, "node_modules/.bin/tsx"), ["--conditions=effect-mio-source", b.file]]
        : [join(root, "node_modules/.bin/vitest"), ["run", "--config", join(workDir, "vitest.config.ts"), "--root", workDir, b.file]] as const
      try {
        execFileSync(command, args, {
          cwd: root,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 60_000
        })
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; signal?: string }
        assert.fail(`${b.doc}:${b.line} failed (${err.signal ?? "exit"}):\n${err.stdout ?? ""}\n${err.stderr ?? ""}`)
      }
    }, 90_000)
  }
})
