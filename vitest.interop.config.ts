import { defineConfig } from "vitest/config"
import base from "./vitest.config.ts"

// The DCCP interop suite: run inside the kernel peer's network namespace by
// scripts/interop.sh (npm run test:interop), one test after another.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/interop/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    maxWorkers: 1,
    testTimeout: 60_000
  }
})
