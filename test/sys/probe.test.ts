/**
 * Compiles native/probe.c with the system C compiler and compares every value
 * it prints from the real headers with src/sys: each constant of
 * constants.ts, each size and offset of layout.ts (for this architecture), the
 * CMSG helpers, and glibc's errno names against errno.ts. The DCCP socket
 * options come from <linux/dccp.h> (linux-libc-dev); where that header is
 * missing the probe says so and only those are left out.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as C from "../../src/sys/constants.ts"
import { errnoName } from "../../src/sys/errno.ts"
import { cmsgLen, cmsgSpace, layout } from "../../src/sys/layout.ts"

const source = fileURLToPath(new URL("../../native/probe.c", import.meta.url))
let dir = ""
const probe = new Map<string, string>()

const compileAndRun = (): void => {
  dir = mkdtempSync(join(tmpdir(), "effect-mio-probe-"))
  const exe = join(dir, "probe")
  try {
    execFileSync("cc", ["-Wall", "-Werror", "-o", exe, source], { stdio: ["ignore", "pipe", "pipe"] })
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer }
    if (err.code === "ENOENT") {
      assert.fail("native/probe.c needs the system C compiler: `cc` was not found on PATH (install gcc or clang)")
    }
    assert.fail(`cc failed to compile native/probe.c:\n${String(err.stderr ?? err.message)}`)
  }
  for (const line of execFileSync(exe, { encoding: "utf8" }).trim().split("\n")) {
    const i = line.indexOf(" ")
    probe.set(line.slice(0, i), line.slice(i + 1))
  }
}

/** `layout.epollEvent.size` → 12, for every numeric leaf of `layout`. */
const flatten = (o: object, prefix: string, out: Map<string, number>): Map<string, number> => {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number") out.set(`${prefix}.${k}`, v)
    else if (typeof v === "object" && v !== null) flatten(v, `${prefix}.${k}`, out)
  }
  return out
}

describe("native/probe.c against src/sys", () => {
  beforeAll(compileAndRun)
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  it("the probe ran on this architecture", () => {
    assert.strictEqual(probe.get("arch"), layout.arch)
    assert.strictEqual(probe.get("arch"), process.arch)
  })

  it("every constant of constants.ts has the header's value", () => {
    const haveDccp = probe.get("HAVE_LINUX_DCCP_H") === "1"
    const mismatches: Array<string> = []
    let compared = 0
    for (const [name, value] of Object.entries(C)) {
      const printed = probe.get(name)
      if (printed === undefined) {
        if (name.startsWith("DCCP_SOCKOPT_") && !haveDccp) continue
        mismatches.push(`${name}: not printed by the probe`)
        continue
      }
      compared++
      if (Number(printed) !== value) mismatches.push(`${name}: header ${printed}, constants.ts ${value}`)
    }
    assert.deepStrictEqual(mismatches, [])
    assert.isAtLeast(compared, haveDccp ? 187 : 174)
  })

  it("DCCP socket options come from <linux/dccp.h> when it is installed", () => {
    if (probe.get("HAVE_LINUX_DCCP_H") !== "1") {
      // Not an error: the other constants are still compared above.
      assert.isUndefined(probe.get("DCCP_SOCKOPT_SERVICE"))
      return
    }
    assert.strictEqual(Number(probe.get("DCCP_SOCKOPT_SERVICE")), C.DCCP_SOCKOPT_SERVICE)
    assert.strictEqual(Number(probe.get("DCCP_SOCKOPT_QPOLICY_TXQLEN")), C.DCCP_SOCKOPT_QPOLICY_TXQLEN)
  })

  it("every size and offset of layout.ts matches the headers (x86-64 packs epoll_event to 12 bytes)", () => {
    const ours = flatten(layout, "layout", new Map())
    const printed = [...probe.keys()].filter((k) => k.startsWith("layout."))
    assert.sameMembers(printed, [...ours.keys()], "the probe and layout.ts describe the same fields")
    const mismatches = [...ours].filter(([k, v]) => Number(probe.get(k)) !== v).map(([k, v]) => `${k}: header ${probe.get(k)}, layout.ts ${v}`)
    assert.deepStrictEqual(mismatches, [])
    if (process.arch === "x64") {
      assert.strictEqual(layout.epollEvent.size, 12)
      assert.strictEqual(layout.epollEvent.data, 4)
    }
  })

  it("CMSG_LEN and CMSG_SPACE", () => {
    assert.strictEqual(cmsgLen(2), Number(probe.get("CMSG_LEN.2")))
    assert.strictEqual(cmsgLen(4), Number(probe.get("CMSG_LEN.4")))
    assert.strictEqual(cmsgSpace(2), Number(probe.get("CMSG_SPACE.2")))
    assert.strictEqual(cmsgSpace(4), Number(probe.get("CMSG_SPACE.4")))
    assert.strictEqual(cmsgSpace(8), Number(probe.get("CMSG_SPACE.8")))
  })

  it("errno names are glibc's (strerrorname_np) for every errno it names", () => {
    const names = [...probe].filter(([k]) => k.startsWith("errno."))
    assert.isAbove(names.length, 100, "glibc 2.32+ names errnos 1..133")
    const mismatches = names
      .filter(([k, name]) => errnoName(Number(k.slice(6))) !== name)
      .map(([k, name]) => `${k.slice(6)}: glibc ${name}, errno.ts ${errnoName(Number(k.slice(6)))}`)
    assert.deepStrictEqual(mismatches, [])
  })
})
