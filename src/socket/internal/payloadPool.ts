/**
 * Copies of received bytes that the caller keeps, made cheaply. Up to 64 bytes
 * a copy is its own (V8 keeps so small a typed array on its heap: cheap); from
 * 65 bytes to `POOLED_MAX` a copy is a view into a shared 16 KiB slab, which
 * saves an `ArrayBuffer` (and its external-memory bookkeeping) per copy; a
 * larger copy is its own again (its allocation is small beside the copy). A
 * retained view keeps its slab alive, as with Node's `Buffer` pool; a slab's
 * bytes are never written again once handed out, so each copy stays its
 * holder's. The policy and figures are those of `StreamSocket`'s read chunks.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */

const POOL_SIZE = 16 * 1024
const POOLED_MAX = 2 * 1024
let pool: ArrayBuffer | undefined = undefined
let poolOffset = 0

/** A copy of `src` that no later copy or receive overwrites. @internal */
export const copyOut = (src: Uint8Array): Uint8Array => {
  const n = src.length
  if (n <= 64 || n > POOLED_MAX) return src.slice()
  if (pool === undefined || poolOffset + n > POOL_SIZE) {
    pool = new ArrayBuffer(POOL_SIZE)
    poolOffset = 0
  }
  const out = new Uint8Array(pool, poolOffset, n)
  out.set(src)
  // Keep views 8-byte aligned (a consumer may view them as wider arrays).
  poolOffset += (n + 7) & ~7
  return out
}
