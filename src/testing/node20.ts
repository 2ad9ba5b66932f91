/**
 * Node 20 support for test runners that expect Node 22: `Map.groupBy` and
 * `Object.groupBy` (ES2024), defined only where missing. Vitest 5 declares
 * Node ≥ 22 and calls `Map.groupBy` in its reporter when it prints failures;
 * on Node 20 (which effect-mio supports) that crashes the report. Import this
 * module first in your `vitest.config.ts`:
 *
 * ```ts
 * import "effect-mio/testing/node20"
 * import { defineConfig } from "vitest/config"
 * ```
 *
 * It changes nothing on Node 22 and later. The library itself never relies on it.
 *
 * @since 0.2.0
 */

const groupInto = <K, V>(items: Iterable<V>, key: (item: V, index: number) => K, add: (k: K, item: V) => void): void => {
  let i = 0
  for (const item of items) add(key(item, i++), item)
}

if (typeof (Map as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", {
    configurable: true,
    writable: true,
    value: <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, Array<V>> => {
      const groups = new Map<K, Array<V>>()
      groupInto(items, key, (k, item) => {
        const g = groups.get(k)
        if (g === undefined) groups.set(k, [item])
        else g.push(item)
      })
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
      groupInto(items, key, (k, item) => (groups[k] ??= []).push(item))
      return groups
    }
  })
}

export {}
