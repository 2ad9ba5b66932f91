// Vitest 5 declares Node >= 22; on Node 20 its reporter needs Map.groupBy. The
// package ships the polyfill for its users; the project uses it the same way.
import "./src/testing/node20.ts"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    conditions: ["effect-mio-source"],
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
