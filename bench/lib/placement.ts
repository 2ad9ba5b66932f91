/**
 * Where the two ends of a two-process case run. Waking a process on the other
 * vCPU costs about 20 µs per hop on the reference VM, so blocking round trips
 * are reported for both placements; busy-polling cases run cross-core only
 * (two spinners on one core take turns by time slice).
 */
export interface Placement {
  readonly label: "same-core" | "cross-core"
  /** CPU of the server / peer / receiver. */
  readonly a: string
  /** CPU of the client / driver / sender. */
  readonly b: string
}

export const SAME: Placement = { label: "same-core", a: "0", b: "0" }
export const CROSS: Placement = { label: "cross-core", a: "0", b: "1" }
