/**
 * Heap measurements for the hostile suite: a full, forced garbage collection
 * (V8's `gc`, exposed at run time) before every reading, so what is left is
 * what the library still holds.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

setFlagsFromString("--expose-gc")
const collect = runInNewContext("gc") as (options?: { type: "major"; execution: "sync" }) => void

/** Bytes of JS heap in use after a full collection. */
export const heapAfterGc = (): number => {
  collect()
  collect()
  return process.memoryUsage().heapUsed
}
