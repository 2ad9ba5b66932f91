/**
 * `Source` is anything that can be registered with a `Registry` (mio's
 * `event::Source`). Every fd-backed type of effect-mio is a `Source`; a custom
 * source implements the three methods, usually by delegating to the
 * `registerFd` family of the registry it is given. Users call the `Registry`
 * methods, never these directly.
 *
 * @since 0.1.0
 */
import type { IoError } from "../IoError.ts"
import type { Interest } from "./Interest.ts"
import type { Registry } from "./Registry.ts"
import type { Token } from "./Token.ts"

/**
 * How a registration is triggered. mio always registers edge-triggered; the
 * other modes are effect-mio extensions.
 *
 * - `trigger: "edge"` (default, `EPOLLET`) or `"level"`;
 * - `oneshot`: disarmed after one event until `reregister` (`EPOLLONESHOT`);
 * - `exclusive`: wake only one of several epoll instances waiting on the same
 *   fd (`EPOLLEXCLUSIVE`, only at `register`, not with `oneshot`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisterOptions {
  readonly trigger?: "edge" | "level" | undefined
  readonly oneshot?: boolean | undefined
  readonly exclusive?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Source {
  readonly register: (
    registry: Registry,
    token: Token,
    interest: Interest,
    options?: RegisterOptions
  ) => IoError | undefined
  readonly reregister: (
    registry: Registry,
    token: Token,
    interest: Interest,
    options?: RegisterOptions
  ) => IoError | undefined
  readonly deregister: (registry: Registry) => IoError | undefined
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isSource = (u: unknown): u is Source =>
  typeof u === "object" && u !== null && typeof (u as Source).register === "function" &&
  typeof (u as Source).reregister === "function" && typeof (u as Source).deregister === "function"
