/**
 * `Registry` registers sources with a `Poll` (mio's `Registry`). `reregister`
 * replaces the token and interest completely; after `deregister` returns, the
 * token is not reported again by a later poll.
 *
 * Registration is edge-triggered, as in mio, unless `RegisterOptions` ask for
 * level-triggered, oneshot or exclusive wake-ups.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as IoError from "../IoError.ts"
import { isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as epoll from "../sys/epoll.ts"
import * as Interest from "./Interest.ts"
import type { RegisterOptions, Source } from "./Source.ts"
import { Token } from "./Token.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Registry"

let nextRegistryId = 0

/**
 * @since 0.1.0
 * @category models
 */
export class Registry {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** Identifies this registry in association checks and logs. @since 0.1.0 */
  readonly id = ++nextRegistryId
  /** The epoll fd, -1 once its `Poll` is closed. @internal */
  epfd: number
  /** Whether a `Waker` is registered: only one may be active per `Poll`. @internal */
  hasWaker = false

  /** @internal */
  constructor(epfd: number) {
    this.epfd = epfd
  }

  /**
   * Registers `source` for `interest`; its events carry `token`.
   *
   * @since 0.1.0
   */
  register(source: Source, token: Token, interest: Interest.Interest, options?: RegisterOptions): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => result(source.register(this, token, interest, options)))
  }

  /**
   * Replaces the token and interest of a registered source.
   *
   * @since 0.1.0
   */
  reregister(source: Source, token: Token, interest: Interest.Interest, options?: RegisterOptions): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => result(source.reregister(this, token, interest, options)))
  }

  /**
   * Removes a source; no event for it is reported by a later poll.
   *
   * @since 0.1.0
   */
  deregister(source: Source): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => result(source.deregister(this)))
  }

  /**
   * `EPOLL_CTL_ADD` for a raw fd — the primitive a `Source` implementation calls.
   *
   * @since 0.1.0
   */
  registerFd(fd: number, token: Token, interest: Interest.Interest, options?: RegisterOptions): IoError.IoError | undefined {
    return this.#ctl(C.EPOLL_CTL_ADD, "register", fd, token, interest, options)
  }

  /**
   * `EPOLL_CTL_MOD` for a raw fd.
   *
   * @since 0.1.0
   */
  reregisterFd(fd: number, token: Token, interest: Interest.Interest, options?: RegisterOptions): IoError.IoError | undefined {
    return this.#ctl(C.EPOLL_CTL_MOD, "reregister", fd, token, interest, options)
  }

  /**
   * `EPOLL_CTL_DEL` for a raw fd.
   *
   * @since 0.1.0
   */
  deregisterFd(fd: number): IoError.IoError | undefined {
    if (this.epfd < 0) return IoError.closed("deregister")
    const r = epoll.ctl(this.epfd, C.EPOLL_CTL_DEL, fd, 0, 0)
    return isOk(r) ? undefined : IoError.fromFailure(r, "deregister")
  }

  #ctl(
    op: number,
    name: string,
    fd: number,
    token: Token,
    interest: Interest.Interest,
    options: RegisterOptions | undefined
  ): IoError.IoError | undefined {
    if (this.epfd < 0) return IoError.closed(name)
    const flags = epollFlags(name, interest, options, op === C.EPOLL_CTL_ADD)
    if (typeof flags !== "number") return flags
    if (!Token.is(token)) return IoError.make("InvalidInput", name, `${token} is not a Token`)
    const r = epoll.ctl(this.epfd, op, fd, flags, token)
    return isOk(r) ? undefined : IoError.fromFailure(r, name)
  }
}

/**
 * The `epoll_event.events` word for an interest and options, or the reason they
 * do not combine.
 *
 * @internal
 */
export const epollFlags = (
  syscall: string,
  interest: Interest.Interest,
  options: RegisterOptions | undefined,
  adding: boolean
): number | IoError.IoError => {
  if (!Interest.isInterest(interest)) {
    return IoError.make("InvalidInput", syscall, `${interest} is not an Interest`)
  }
  let flags = Interest.toEpoll(interest)
  if (options?.trigger !== "level") flags |= C.EPOLLET
  if (options?.oneshot === true) flags |= C.EPOLLONESHOT
  if (options?.exclusive === true) {
    if (!adding) return IoError.make("InvalidInput", syscall, "exclusive wake-ups are set at register, not reregister")
    if (options.oneshot === true) return IoError.make("InvalidInput", syscall, "exclusive and oneshot do not combine")
    if (Interest.isPriority(interest)) return IoError.make("InvalidInput", syscall, "exclusive does not combine with PRIORITY")
    // EPOLLEXCLUSIVE accepts only EPOLLIN, EPOLLOUT, EPOLLWAKEUP and EPOLLET.
    flags = (flags & ~C.EPOLLRDHUP) | C.EPOLLEXCLUSIVE
  }
  return flags
}

const result = (e: IoError.IoError | undefined): Effect.Effect<void, IoError.IoError> =>
  e === undefined ? Effect.void : Effect.fail(e)

/**
 * @since 0.1.0
 * @category guards
 */
export const isRegistry = (u: unknown): u is Registry => u instanceof Registry
