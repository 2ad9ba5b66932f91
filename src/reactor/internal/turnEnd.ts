/**
 * The end of the current turn: work deferred until every fiber that runs in
 * this turn has had its go — the socket writer's coalesced sends (see
 * `StreamWriter` in src/socket/internal/StreamSocket.ts).
 *
 * A turn ends at whichever comes first:
 * - the end of a round of the reactor driver's deliveries (`endTurn`, called
 *   by the driver after the fibers one poll woke have run, before it polls
 *   again — under the spin and block strategies one driver turn holds many
 *   rounds, and the peer's answer may depend on what they wrote);
 * - the JavaScript that runs now returning to Node: `process.nextTick` from
 *   inside Node's callback scopes (a `setImmediate` of Effect's scheduler, a
 *   timer, an I/O callback), `setImmediate` from inside a koffi poll callback,
 *   which runs outside Node's scopes (the `nextTick` queue is not drained when
 *   it returns, see `inPollCallback` in src/sys/libc.ts; its `setImmediate` runs
 *   in the check phase of the same loop iteration).
 *
 * Tasks deferred while the deferred tasks run go to the next `setImmediate`, so
 * a task that keeps deferring cannot starve the event loop.
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
/** Rounds of driver deliveries running now: each ends the turn when it ends, so nothing needs scheduling. */
let rounds = 0

/** Runs the deferred tasks (not re-entrant: tasks deferred meanwhile wait for the next turn). */
const runTasks = (): void => {
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

/** The scheduled end of the turn. */
const run = (): void => {
  if (running) {
    // Called back into from a task (a Node API that drains the tick queue): later.
    setImmediate(run)
    return
  }
  scheduled = false
  if (queue.length > 0) runTasks()
}

/**
 * Ends the turn now: runs the deferred tasks (the driver, after a round of
 * deliveries). A callback already scheduled stays so, and finds nothing to do
 * or the tasks deferred since.
 *
 * @internal
 */
export const endTurn = (): void => {
  if (queue.length > 0 && !running) runTasks()
}

/** A round of the driver's deliveries begins; `roundEnds` must follow. @internal */
export const roundBegins = (): void => {
  rounds++
}

/** The round of deliveries ended: the turn ends (`endTurn`). @internal */
export const roundEnds = (): void => {
  rounds--
  endTurn()
}

/** Runs `task.endTurn()` once the current turn ends (see the module's comment). @internal */
export const atTurnEnd = (task: TurnEnd): void => {
  queue.push(task)
  if (scheduled || (rounds > 0 && !running)) return
  scheduled = true
  if (running || inPollCallback()) setImmediate(run)
  else process.nextTick(run)
}
