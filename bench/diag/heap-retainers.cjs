// The objects a heap snapshot has that an earlier one of the same process had
// not (matched by V8's object ids), per unit (per connection), grouped by kind
// and by the kind and edge of their first retainer: which of our objects or
// Effect's combinators hold per-connection memory. Diagnostic, not part of
// `npm run bench`; the snapshots come from `KEEP=<dir> bench/diag/heap-per-conn.sh`.
//
//   node --max-old-space-size=6000 bench/diag/heap-retainers.cjs before.heapsnapshot after.heapsnapshot <units> [rows]
const fs = require("node:fs")
const load = (f) => JSON.parse(fs.readFileSync(f, "utf8"))
const [before, after, units, shown] = [load(process.argv[2]), load(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 60)]
const meta = after.snapshot.meta
const W = meta.node_fields.length, T = meta.node_fields.indexOf("type"), N = meta.node_fields.indexOf("name")
const S = meta.node_fields.indexOf("self_size"), ID = meta.node_fields.indexOf("id"), EC = meta.node_fields.indexOf("edge_count")
const EW = meta.edge_fields.length, ET = meta.edge_fields.indexOf("type"), EN = meta.edge_fields.indexOf("name_or_index"), ETO = meta.edge_fields.indexOf("to_node")
const types = meta.node_types[0], edgeTypes = meta.edge_types[0], nodes = after.nodes, edges = after.edges, strings = after.strings
const old = new Set()
{
  const m = before.snapshot.meta, w = m.node_fields.length, id = m.node_fields.indexOf("id")
  for (let i = 0; i < before.nodes.length; i += w) old.add(before.nodes[i + id])
}
const kind = (i) => {
  const t = types[nodes[i + T]], n = strings[nodes[i + N]]
  return t === "object" || t === "closure" || t === "native" || t === "hidden" ? `${t} ${n.slice(0, 40)}` : t
}
// The first strong retainer of each node.
const retainer = new Map()
for (let i = 0, e = 0; i < nodes.length; i += W) {
  for (let k = 0; k < nodes[i + EC]; k++, e += EW) {
    const et = edgeTypes[edges[e + ET]]
    if (et === "weak" || et === "shortcut") continue
    const to = edges[e + ETO]
    if (!retainer.has(to)) retainer.set(to, [i, et === "element" || et === "hidden" ? `[${edges[e + EN]}]` : strings[edges[e + EN]]])
  }
}
const groups = new Map()
let total = 0
for (let i = 0; i < nodes.length; i += W) {
  if (old.has(nodes[i + ID])) continue
  const r = retainer.get(i)
  const key = `${kind(i)}  <- ${r === undefined ? "?" : `${kind(r[0])} .${r[1]}`}`
  const g = groups.get(key) ?? [0, 0]
  g[0]++
  g[1] += nodes[i + S]
  total += nodes[i + S]
  groups.set(key, g)
}
console.log(`new objects per unit: ${(total / units).toFixed(0)} B`)
const rows = [...groups].filter(([, [count]]) => count >= units / 2).sort((x, y) => y[1][1] - x[1][1]).slice(0, shown)
for (const [k, [count, size]] of rows) console.log(`${(size / units).toFixed(0).padStart(6)} B ${(count / units).toFixed(2).padStart(6)} × ${k}`)
