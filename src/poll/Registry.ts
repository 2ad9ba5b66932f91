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
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as epoll from "../sys/epoll.ts"
import * as Interest from "./Interest.ts"
import { isSource, type RegisterOptions, type Source } from "./Source.ts"
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
    return Effect.suspend(() => result(notSource(source, "register") ?? source.register(this, token, interest, options)))
  }

  /**
   * Replaces the token and interest of a registered source.
   *
   * @since 0.1.0
   */
  reregister(source: Source, token: Token, interest: Interest.Interest, options?: RegisterOptions): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => result(notSource(source, "reregister") ?? source.reregister(this, token, interest, options)))
  }

  /**
   * Removes a source; no event for it is reported by a later poll.
   *
   * @since 0.1.0
   */
  deregister(source: Source): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => result(notSource(source, "deregister") ?? source.deregister(this)))
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
    if (this.epfd < 0) return pollClosed("deregister")
    const bad = fdProblem(fd)
    if (bad !== undefined) return IoError.make("InvalidInput", "deregister", bad)
    const r = epoll.ctl(this.epfd, C.EPOLL_CTL_DEL, fd, 0, 0)
    return isOk(r) ? undefined : ofFd(IoError.fromFailure(r, "deregister"), fd)
  }

  #ctl(
    op: number,
    name: string,
    fd: number,
    token: Token,
    interest: Interest.Interest,
    options: RegisterOptions | undefined
  ): IoError.IoError | undefined {
    if (this.epfd < 0) return pollClosed(name)
    const bad = check.first(
      fdProblem(fd),
      Token.is(token) ? undefined : `token is an integer from 0 to 2^53 - 1 (a Token), not ${check.show(token)}`
    )
    if (bad !== undefined) return IoError.make("InvalidInput", name, bad)
    const flags = epollFlags(name, interest, options, op === C.EPOLL_CTL_ADD)
    if (typeof flags !== "number") return flags
    const r = epoll.ctl(this.epfd, op, fd, flags, token)
    return isOk(r) ? undefined : ofFd(IoError.fromFailure(r, name), fd)
  }
}

/**
 * The error of an operation on a `Poll` (or its `Registry`) that was closed: kind
 * `Closed`, saying that it is the Poll, not the source, that is closed.
 *
 * @internal
 */
export const pollClosed = (syscall: string): IoError.IoError => IoError.make("Closed", syscall, "the Poll is closed")

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
    return IoError.make(
      "InvalidInput",
      syscall,
      `interest is READABLE, WRITABLE, PRIORITY or a union of them (Interest.add), not ${check.show(interest)}`
    )
  }
  const bad = check.object("options", options) ?? check.first(
    check.oneOf("trigger", options?.trigger, ["edge", "level"]),
    check.boolean("oneshot", options?.oneshot),
    check.boolean("exclusive", options?.exclusive)
  )
  if (bad !== undefined) return IoError.make("InvalidInput", syscall, bad)
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

/**
 * Why `fd` is not an fd number (a C `int`), or `undefined`. A number that is
 * one but names no open file (-1, a closed fd) goes to the kernel, which answers
 * `EBADF` (kind `Closed`), as in mio.
 */
const fdProblem = (fd: unknown): string | undefined => check.requiredInteger("fd", fd, -(2 ** 31), 2 ** 31 - 1)

/** The kernel's error, naming the fd it was about (`EBADF`: which fd was not open). */
const ofFd = (e: IoError.IoError, fd: number): IoError.IoError =>
  new IoError.IoError({ kind: e.kind, errno: e.errno, syscall: e.syscall, detail: `fd ${fd}` })

const notSource = (source: unknown, syscall: string): IoError.IoError | undefined =>
  isSource(source)
    ? undefined
    : IoError.make("InvalidInput", syscall, `source is a Source (with register, reregister and deregister), not ${check.show(source)}`)

/** An `InvalidInput` error when `registry` is not a `Registry`. @internal */
export const notRegistry = (registry: unknown, syscall: string): IoError.IoError | undefined =>
  registry instanceof Registry
    ? undefined
    : IoError.make("InvalidInput", syscall, `registry is a Registry (poll.registry), not ${check.show(registry)}`)

const result = (e: IoError.IoError | undefined): Effect.Effect<void, IoError.IoError> =>
  e === undefined ? Effect.void : Effect.fail(e)

/**
 * @since 0.1.0
 * @category guards
 */
export const isRegistry = (u: unknown): u is Registry => u instanceof Registry
