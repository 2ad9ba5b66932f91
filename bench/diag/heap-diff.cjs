// Diffs two V8 heap snapshots by object kind and prints the growth per unit
// (per connection): node heap-diff.cjs before.heapsnapshot after.heapsnapshot <units>
const fs = require("node:fs")
const aggregate = (file) => {
  const s = JSON.parse(fs.readFileSync(file, "utf8"))
  const fields = s.snapshot.meta.node_fields, types = s.snapshot.meta.node_types[0], strings = s.strings
  const W = fields.length, T = fields.indexOf("type"), N = fields.indexOf("name"), S = fields.indexOf("self_size")
  const out = new Map()
  for (let i = 0; i < s.nodes.length; i += W) {
    const type = types[s.nodes[i + T]], name = strings[s.nodes[i + N]]
    const key = type === "object" || type === "closure" ? `${type} ${name}` : type === "native" || type === "hidden" ? `${type} ${name.slice(0, 40)}` : type
    const e = out.get(key) ?? [0, 0]
    e[0]++
    e[1] += s.nodes[i + S]
    out.set(key, e)
  }
  return out
}
const [before, after, units] = [aggregate(process.argv[2]), aggregate(process.argv[3]), Number(process.argv[4])]
const rows = []
for (const [k, [count, size]] of after) {
  const [c0, s0] = before.get(k) ?? [0, 0]
  if (size > s0) rows.push([k, (count - c0) / units, (size - s0) / units])
}
rows.sort((x, y) => y[2] - x[2])
console.log(`per unit: ${rows.reduce((t, r) => t + r[2], 0).toFixed(0)} B`)
for (const [k, c, sz] of rows.slice(0, 30)) console.log(`${sz.toFixed(0).padStart(7)} B ${c.toFixed(2).padStart(7)} × ${k}`)
