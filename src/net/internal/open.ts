/**
 * Opening sockets: create, set options, bind/connect, and close the half-built
 * socket before returning an error (no fd outlives a failed constructor).
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { statSync, unlinkSync } from "node:fs"
import { resolve as resolvePath } from "node:path"
import * as check from "../../internal/check.ts"
import * as IoError from "../../IoError.ts"
import type { IoSource } from "../../poll/IoSource.ts"
import { isOk } from "../../sys/call.ts"
import * as C from "../../sys/constants.ts"
import * as fd from "../../sys/fd.ts"
import * as sock from "../../sys/socket.ts"
import * as SocketAddress from "../SocketAddress.ts"

/** A new non-blocking, close-on-exec socket fd. @internal */
export const socket = (domain: number, type: number, protocol: number): number | IoError.IoError => {
  const r = sock.socket(domain, type, protocol)
  return isOk(r) ? r : IoError.fromFailure(r, "socket")
}

/**
 * Runs `steps` on a freshly built source; on the first error the source is
 * closed and the error returned, so no fd outlives a failed constructor.
 *
 * @internal
 */
export const build = <S extends IoSource>(
  source: S,
  steps: ReadonlyArray<() => IoError.IoError | undefined>
): S | IoError.IoError => {
  for (const step of steps) {
    const e = step()
    if (e !== undefined) {
      source.close()
      return e
    }
  }
  return source
}

/** `bind(fd, address)`. @internal */
export const bind = (s: number, address: SocketAddress.Encoded): IoError.IoError | undefined => {
  const r = sock.bind(s, address.bytes, address.length)
  return isOk(r) ? undefined : IoError.fromFailure(r, "bind", SocketAddress.format(address.address))
}

/** Sets an int option before the socket is wrapped. @internal */
export const setInt = (s: number, level: number, name: number, value: number): IoError.IoError | undefined => {
  const r = sock.setsockoptInt(s, level, name, value)
  return isOk(r) ? undefined : IoError.fromFailure(r, "setsockopt")
}

/** Resolves `input` to an IPv4 or IPv6 address for `syscall` (`InvalidInput` for any other). @internal */
export const resolveInet = (input: SocketAddress.Input, syscall: string): SocketAddress.Encoded | IoError.IoError =>
  resolveIn(input, syscall, (domain) => domain === C.AF_INET || domain === C.AF_INET6, "an IPv4 or IPv6 address")

/** Resolves `input` to a Unix address — a path or abstract name — for `syscall`. @internal */
export const resolveUnix = (input: SocketAddress.Input, syscall: string): SocketAddress.Encoded | IoError.IoError =>
  resolveIn(input, syscall, (domain) => domain === C.AF_UNIX, "a Unix socket path or @abstract name")

const resolveIn = (
  input: SocketAddress.Input,
  syscall: string,
  accepts: (domain: number) => boolean,
  expected: string
): SocketAddress.Encoded | IoError.IoError => {
  const c = SocketAddress.classify(input, syscall)
  if (c instanceof IoError.IoError) return c
  if (c instanceof SocketAddress.HostName) {
    return accepts(C.AF_INET) ? SocketAddress.hostNameRefused(input, c, syscall) : wrongFamily(input, syscall, expected, c.toString())
  }
  const a = SocketAddress.encode(c, syscall)
  if (a instanceof IoError.IoError || accepts(a.domain)) return a
  return wrongFamily(input, syscall, expected, SocketAddress.format(a.address))
}

const wrongFamily = (input: unknown, syscall: string, expected: string, address: string): IoError.IoError =>
  IoError.make("InvalidInput", syscall, `${check.show(input)} is not ${expected}`, address)

/**
 * A one-entry cache of resolved destinations: a datagram socket that keeps
 * sending to one target resolves and encodes it once. @internal
 */
export class TargetCache {
  readonly #resolve: (input: SocketAddress.Input, syscall: string) => SocketAddress.Encoded | IoError.IoError
  #input: SocketAddress.Input | undefined = undefined
  #encoded: SocketAddress.Encoded | undefined = undefined

  constructor(resolve: (input: SocketAddress.Input, syscall: string) => SocketAddress.Encoded | IoError.IoError) {
    this.#resolve = resolve
  }

  get(input: SocketAddress.Input, syscall: string): SocketAddress.Encoded | IoError.IoError {
    if (input === this.#input && this.#encoded !== undefined) return this.#encoded
    const e = this.#resolve(input, syscall)
    if (e instanceof IoError.IoError) return e
    this.#input = input
    this.#encoded = e
    return e
  }
}

/** Wraps a constructed source so its Scope closes it. @internal */
export const scoped = <S extends IoSource>(make: () => S | IoError.IoError): Effect.Effect<S, IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const s = make()
      return s instanceof IoError.IoError ? Effect.fail(s) : Effect.succeed(s)
    }),
    (s) => Effect.sync(() => s.close())
  )

/**
 * Checks that an adopted fd is a socket of the expected type and makes it
 * non-blocking and close-on-exec (mio's `from_std` leaves that to the caller; we
 * do it, as every effect-mio source is non-blocking). Returns the socket's domain.
 *
 * @internal
 */
export const adopt = (s: number, type: number): number | IoError.IoError => {
  if (!(typeof s === "number" && Number.isInteger(s) && s >= 0 && s <= 2 ** 31 - 1)) {
    return IoError.make("InvalidInput", "fromFd", `fd ${check.show(s)} is not a file descriptor (an integer from 0 to 2^31 - 1)`)
  }
  const t = sock.getsockoptInt(s, C.SOL_SOCKET, C.SO_TYPE)
  if (!isOk(t)) return IoError.fromFailure(t, "getsockopt")
  if (t !== type) return IoError.make("InvalidInput", "fromFd", `fd ${s} is a socket of type ${t}, not ${type}`)
  const d = sock.getsockoptInt(s, C.SOL_SOCKET, C.SO_DOMAIN)
  if (!isOk(d)) return IoError.fromFailure(d, "getsockopt")
  const nb = fd.setNonblocking(s, true)
  if (!isOk(nb)) return IoError.fromFailure(nb, "fcntl")
  const ce = fd.setCloexec(s)
  if (!isOk(ce)) return IoError.fromFailure(ce, "fcntl")
  return d
}

/**
 * Removes the filesystem path a Unix socket bound when the socket closes
 * (unless `enabled` is `false`): a path left behind makes the next bind fail.
 * Abstract names vanish by themselves.
 *
 * @internal
 */
export const unlinkOnClose = (source: IoSource, at: SocketAddress.Encoded, enabled: boolean | undefined): void => {
  if (enabled === false || at.address._tag !== "UnixPathAddress") return
  // The file bind made, by identity and by absolute path (the working directory may change
  // before the close): only that file is removed. Another socket may have bound the path
  // since (a restarted server that removed it first); its file is not ours to unlink.
  const path = resolvePath(at.address.path)
  let bound: { readonly dev: number; readonly ino: number }
  try {
    bound = statSync(path)
  } catch {
    return // already gone: nothing of ours to remove
  }
  source.onClose(() => {
    try {
      const now = statSync(path)
      if (now.dev === bound.dev && now.ino === bound.ino) unlinkSync(path)
    } catch {
      // already removed by someone else
    }
  })
}
