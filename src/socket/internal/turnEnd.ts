/**
 * The end of the current turn: work a writer defers until every fiber that
 * runs in this turn of Node's event loop has had its go, so that their writes
 * leave as one `send` (see `StreamWriter` in ./StreamSocket.ts).
 *
 * A turn ends when the JavaScript that runs now returns to Node: `process.nextTick`
 * from inside Node's callback scopes (a `setImmediate` of Effect's scheduler, a
 * timer, an I/O callback), and `setImmediate` from inside a koffi poll callback
 * (the reactor's driver resuming fibers), which runs outside Node's scopes —
 * the `nextTick` queue is not drained when it returns (see `inPollCallback`,
 * src/sys/libc.ts), and its `setImmediate` runs in the check phase of the same
 * loop iteration. Tasks deferred while the deferred tasks run go to the next
 * `setImmediate`, so a task that keeps deferring cannot starve the event loop.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { inPollCallback } from "../../sys/libc.ts"

/** Something to finish at the end of the turn. @internal */
export interface TurnEnd {
  endTurn(): void
}

let queue: Array<TurnEnd> = []
let spare: Array<TurnEnd> = []
let scheduled = false
let running = false

const run = (): void => {
  scheduled = false
  running = true
  const tasks = queue
  queue = spare
  try {
    for (let i = 0; i < tasks.length; i++) tasks[i]!.endTurn()
  } finally {
    tasks.length = 0
    spare = tasks
    running = false
  }
}

/** Runs `task.endTurn()` once the current turn ends (see the module's comment). @internal */
export const atTurnEnd = (task: TurnEnd): void => {
  queue.push(task)
  if (scheduled) return
  scheduled = true
  if (running || inPollCallback()) setImmediate(run)
  else process.nextTick(run)
}
