/**
 * The registration state every fd-owning source of effect-mio shares (mio's
 * `IoSource`). It enforces mio's debug-build association rules in every build:
 * registering a source twice fails with `AlreadyExists`, reregistering or
 * deregistering an unregistered source fails with `NotFound`, and a source
 * registered with one registry cannot be moved to another without deregistering.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { type SysResult, WouldBlock } from "../sys/call.ts"
import * as fd from "../sys/fd.ts"
import type { Interest } from "./Interest.ts"
import { notRegistry, pollClosed, type Registry } from "./Registry.ts"
import type { RegisterOptions, Source } from "./Source.ts"
import type { Token } from "./Token.ts"

/**
 * @since 0.1.0
 * @category models
 */
export class IoSource implements Source {
  /** The owned fd, or -1 once closed. @since 0.1.0 */
  fd: number
  #registry: Registry | undefined = undefined
  #closeHook: (() => void) | undefined = undefined
  #closeHooks: Array<() => void> | undefined = undefined

  /** @internal */
  constructor(fd: number) {
    this.fd = fd
  }

  /** `true` once `close` has run. @since 0.1.0 */
  get isClosed(): boolean {
    return this.fd < 0
  }

  /**
   * The registry this source is registered with, if any. A registry whose `Poll`
   * has closed holds no registration (the kernel dropped it with the epoll fd).
   *
   * @since 0.1.0
   */
  get registry(): Registry | undefined {
    if (this.#registry !== undefined && this.#registry.epfd < 0) this.#registry = undefined
    return this.#registry
  }

  /** @since 0.1.0 */
  register(registry: Registry, token: Token, interest: Interest, options?: RegisterOptions): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("register")
    const bad = notRegistry(registry, "register")
    if (bad !== undefined) return bad
    if (this.registry !== undefined) {
      return IoError.make("AlreadyExists", "register", "I/O source already registered with a `Registry`")
    }
    const e = registry.registerFd(this.fd, token, interest, options)
    if (e === undefined) this.#registry = registry
    return e
  }

  /** @since 0.1.0 */
  reregister(registry: Registry, token: Token, interest: Interest, options?: RegisterOptions): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("reregister")
    const e = notRegistry(registry, "reregister") ?? this.#check(registry, "reregister")
    return e ?? registry.reregisterFd(this.fd, token, interest, options)
  }

  /** @since 0.1.0 */
  deregister(registry: Registry): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("deregister")
    const e = notRegistry(registry, "deregister") ?? this.#check(registry, "deregister") ?? registry.deregisterFd(this.fd)
    if (e === undefined) this.#registry = undefined
    return e
  }

  /**
   * Runs `hook` just before the fd is closed (while its number still names this
   * source), once. Returns a function that removes the hook. The reactor uses it
   * to deregister and fail parked fibers when a source is closed under them.
   *
   * @since 0.1.0
   */
  onClose(hook: () => void): () => void {
    // One hook (the reactor's) is the common case: kept inline, no array.
    if (this.#closeHook === undefined && this.#closeHooks === undefined) this.#closeHook = hook
    else (this.#closeHooks ??= []).push(hook)
    return () => {
      if (this.#closeHook === hook) {
        this.#closeHook = undefined
        return
      }
      const hooks = this.#closeHooks
      const i = hooks === undefined ? -1 : hooks.indexOf(hook)
      if (i >= 0) hooks!.splice(i, 1)
    }
  }

  /**
   * Closes the fd (which also removes it from epoll) and forgets the
   * registration. Closing twice is a no-op.
   *
   * @since 0.1.0
   */
  close(): IoError.IoError | undefined {
    const f = this.fd
    if (f < 0) return undefined
    const first = this.#closeHook
    const hooks = this.#closeHooks
    this.#closeHook = undefined
    this.#closeHooks = undefined
    if (first !== undefined) first()
    if (hooks !== undefined) for (const hook of hooks) hook()
    this.fd = -1
    this.#registry = undefined
    const r = fd.close(f)
    return r === 0 ? undefined : IoError.fromErrno(r)
  }

  /**
   * The fd calls the readiness-level sources expose: the gate's result, or
   * `Closed` without a syscall once the source is closed (its fd number may
   * belong to another file by then).
   *
   * @internal
   */
  protected sysRead(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("read")
    return buf instanceof Uint8Array ? ioResult(fd.read(this.fd, buf)) : badBuffers("read", check.bytes("buffer", buf)!)
  }
  /** @internal */
  protected sysWrite(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("write")
    return buf instanceof Uint8Array ? ioResult(fd.write(this.fd, buf)) : badBuffers("write", check.bytes("buffer", buf)!)
  }
  /** @internal */
  protected sysReadv(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("readv")
    const bad = check.byteArrays("buffers", bufs)
    return bad === undefined ? ioResult(fd.readv(this.fd, bufs)) : badBuffers("readv", bad)
  }
  /** @internal */
  protected sysWritev(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("writev")
    const bad = check.byteArrays("buffers", bufs)
    return bad === undefined ? ioResult(fd.writev(this.fd, bufs)) : badBuffers("writev", bad)
  }

  #check(registry: Registry, syscall: string): IoError.IoError | undefined {
    if (registry.epfd < 0) return pollClosed(syscall)
    const current = this.registry
    if (current === undefined) {
      return IoError.make("NotFound", syscall, "I/O source not registered with `Registry`")
    }
    if (current !== registry) {
      return IoError.make("AlreadyExists", syscall, "I/O source already registered with a different `Registry`")
    }
    return undefined
  }
}

const badBuffers = (syscall: string, problem: string): IoError.IoError => IoError.make("InvalidInput", syscall, problem)

/**
 * A gate result as the readiness level returns it: the value, `WouldBlock`, or
 * an `IoError` value.
 *
 * @internal
 */
export const ioResult = (r: SysResult, address?: string): number | WouldBlock | IoError.IoError =>
  typeof r === "number" ? r : r === WouldBlock ? WouldBlock : IoError.fromErrno(r, address)

/**
 * Hands a source the caller owns (an accepted stream, say) to the Scope, which
 * closes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const scoped = <S extends IoSource>(source: S): Effect.Effect<S, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.succeed(source), (s) => Effect.sync(() => s.close()))
