import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Vitest 5 declares Node >= 22; on Node 20 (which effect-mio supports) its
// reporter calls Map.groupBy (Node 21+) when printing failures. Provide it here,
// in the process that reports. Tests themselves never rely on it.
if (typeof (Map as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", {
    configurable: true,
    writable: true,
    value: <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, Array<V>> => {
      const groups = new Map<K, Array<V>>()
      let i = 0
      for (const item of items) {
        const k = key(item, i++)
        const g = groups.get(k)
        if (g === undefined) groups.set(k, [item])
        else g.push(item)
      }
      return groups
    }
  })
}
if (typeof (Object as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Object, "groupBy", {
    configurable: true,
    writable: true,
    value: <V>(items: Iterable<V>, key: (item: V, index: number) => PropertyKey): Record<PropertyKey, Array<V>> => {
      const groups: Record<PropertyKey, Array<V>> = Object.create(null)
      let i = 0
      for (const item of items) (groups[key(item, i++)] ??= []).push(item)
      return groups
    }
  })
}

export default defineConfig({
  resolve: {
    conditions: ["source"],
    // Examples import the package by name, as users do; Vite does not resolve a
    // package's own name (Node's self-reference), so point it at the sources.
    alias: [
      { find: /^effect-mio\/testing$/, replacement: fileURLToPath(new URL("./src/testing/index.ts", import.meta.url)) },
      { find: /^effect-mio$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The interop suite needs the kernel peer (npm run test:interop).
    exclude: ["test/interop/**", "**/node_modules/**"],
    // Each test file runs in its own process: fd counts from /proc/self/fd and
    // signal masks belong to that file alone, and koffi's native state is per process.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    sequence: { concurrent: false }
  }
})
