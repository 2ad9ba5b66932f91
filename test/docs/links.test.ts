/**
 * Every relative link and image in README.md and docs/ (subfolders included)
 * resolves: the file exists in the repository, and a `#fragment` names a
 * heading of the target document as GitHub renders it (issue 14, item 8).
 * Links to other sites are not fetched. Failures name the document and line.
 */
import { assert, describe, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../..")

const markdownUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? markdownUnder(join(dir, entry.name)) : entry.name.endsWith(".md") ? [join(dir, entry.name)] : []
  )

const documents = [join(root, "README.md"), ...markdownUnder(join(root, "docs"))]

/** The document's lines with fenced code blocks blanked (their `#` lines are not headings, their brackets not links). */
const proseLines = (text: string): Array<string> => {
  let fenced = false
  return text.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced
      return ""
    }
    return fenced ? "" : line
  })
}

/** The anchors GitHub gives a document's headings (duplicates numbered), plus explicit `<a id>`/`<a name>`. */
const anchorsOf = (file: string): Set<string> => {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of proseLines(readFileSync(file, "utf8"))) {
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!)
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (heading === null) continue
    const slug = heading[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/ /g, "-")
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    anchors.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return anchors
}

interface Link {
  readonly doc: string
  readonly line: number
  readonly target: string
}

const links: Array<Link> = documents.flatMap((doc) =>
  proseLines(readFileSync(doc, "utf8")).flatMap((line, i) =>
    [...line.replace(/`[^`]*`/g, "").matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => ({
      doc,
      line: i + 1,
      target: m[1]!
    }))
  )
)

const problem = (link: Link): string | undefined => {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined // https:, mailto: …: another site
  const [path, fragment] = link.target.split("#", 2) as [string, string | undefined]
  const file = path === "" ? link.doc : resolve(dirname(link.doc), decodeURIComponent(path))
  if (!file.startsWith(root + "/") && file !== root) return "points outside the repository"
  if (!existsSync(file)) return "no such file"
  if (fragment === undefined || fragment === "") return undefined
  if (statSync(file).isDirectory() || !file.endsWith(".md")) return "a fragment on something that is not a document"
  return anchorsOf(file).has(decodeURIComponent(fragment)) ? undefined : `no heading #${fragment} in ${relative(root, file)}`
}

describe("links in README.md and docs/", () => {
  it("there are links to check", () => {
    assert.isAbove(links.length, 50)
  })

  it("every relative link and image resolves, anchors included", () => {
    const broken = links.flatMap((link) => {
      const why = problem(link)
      return why === undefined ? [] : [`${relative(root, link.doc)}:${link.line}: ${link.target} — ${why}`]
    })
    assert.deepStrictEqual(broken, [])
  })
})
