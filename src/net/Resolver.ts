/**
 * Host names in addresses (`"localhost:7000"`, `{ host: "example.com", port: 443 }`),
 * resolved through Effect's own `AddressResolver` service.
 *
 * Every constructor that is an Effect and takes an address (`TcpListener.bind`,
 * `TcpStream.connect`, `UdpSocket.bind`, `Tcp.connect`/`listen`, `Udp.make`,
 * `Dccp.connect`/`listen`, …) resolves a host name before it opens anything:
 * with the `AddressResolver` found in its context, or else with `resolver`,
 * which looks names up with `node:dns` `lookup` (the system's `getaddrinfo`,
 * hosts file included, run on libuv's thread pool: the event loop never waits
 * for it). So a program that provides only `Reactor.layer` resolves names, and
 * one that provides an `AddressResolver` (a static one in tests, a caching one
 * in production) has every lookup go through it. IP literals, paths and
 * `NetAddress` values are never looked up.
 *
 * A name that resolves to several addresses is tried in the resolver's order
 * (the system's), the first that works is used, and the last failure is
 * reported when none does. Synchronous calls cannot wait for a lookup: they
 * take IP literals and refuse a host name with `InvalidInput`
 * (`SocketAddress.parse`).
 *
 * @since 0.2.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as AddressResolver from "effect/net/AddressResolver"
import * as Dns from "effect/net/Dns"
import type * as Host from "effect/net/Host"
import * as NetAddress from "effect/net/NetAddress"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import { promises as dnsPromises } from "node:dns"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { libc } from "../sys/libc.ts"
import * as SocketAddress from "./SocketAddress.ts"

/** `node:dns` error codes → Effect's DNS failure reasons. */
const dnsReasons: Readonly<Record<string, Dns.DnsErrorReason>> = {
  ENOTFOUND: "NotFound",
  ENODATA: "NotFound",
  EAI_NONAME: "NotFound",
  EAI_NODATA: "NotFound",
  ETIMEOUT: "Timeout",
  EAI_AGAIN: "Temporary",
  EAI_FAIL: "ServerFailure",
  ESERVFAIL: "ServerFailure",
  EREFUSED: "Refused",
  ECONNREFUSED: "Refused",
  EBADNAME: "BadName",
  EBADFAMILY: "BadName",
  EAI_FAMILY: "Unsupported",
  ENOTIMP: "Unsupported"
}

const lookupFailed = (cause: unknown, hostname: string): Dns.DnsError => {
  const code = typeof cause === "object" && cause !== null ? (cause as { readonly code?: unknown }).code : undefined
  return new Dns.DnsError({
    reason: (typeof code === "string" ? dnsReasons[code] : undefined) ?? "Unknown",
    method: "lookup",
    hostname,
    cause
  })
}

/** The addresses of a name from `getaddrinfo` (`dns.lookup`), in the system's order. */
const lookup = (host: Host.DomainName, family: NetAddress.IpFamily | undefined) =>
  Effect.tryPromise({
    try: () =>
      dnsPromises.lookup(host, { all: true, family: family === "IPv4" ? 4 : family === "IPv6" ? 6 : 0, order: "verbatim" }),
    catch: (cause) => lookupFailed(cause, host)
  }).pipe(Effect.map((entries) => {
    const out: Array<NetAddress.IpAddress> = []
    for (const e of entries) {
      // A zone (link-local) is dropped, as Effect's resolver skips those addresses.
      const zone = e.address.indexOf("%")
      const ip = NetAddress.ipFromString(zone === -1 ? e.address : e.address.slice(0, zone))
      if (Result.isSuccess(ip)) out.push(ip.success)
    }
    return out
  }))

/** An IPv6 zone's interface index, by name (`if_nametoindex`). */
const scopeId = (name: string): Effect.Effect<Option.Option<number>> =>
  Effect.sync(() => {
    if (name.length === 0 || name.length > 15 || name.includes("\0")) return Option.none()
    const index = libc().if_nametoindex(name)
    return index === 0 ? Option.none() : Option.some(index)
  })

/**
 * Effect's `AddressResolver` on `node:dns` `lookup`: the default of every
 * constructor that resolves a host name when no `AddressResolver` is provided.
 * IPv6 zones given by interface name are found with `if_nametoindex`.
 *
 * @since 0.2.0
 * @category resolvers
 */
export const resolver: AddressResolver.AddressResolver["Service"] = AddressResolver.make(Dns.make({ lookup }), { scopeId })

/**
 * `resolver` as a Layer of Effect's `AddressResolver` service — for programs
 * that use `AddressResolver` themselves; effect-mio's constructors use
 * `resolver` without it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<AddressResolver.AddressResolver> = Layer.succeed(AddressResolver.AddressResolver, resolver)

/** A lookup failure as the I/O floors report it: an `IoError` naming the host, with the `DnsError` as `cause`. */
const lookupError = (e: Dns.DnsError | NetAddress.NetAddressError, name: SocketAddress.HostName, input: unknown): IoError.IoError => {
  const kind: IoError.IoErrorKind = e._tag === "NetAddressError"
    ? "AddressNotAvailable"
    : e.reason === "NotFound"
    ? "NotFound"
    : e.reason === "Timeout"
    ? "TimedOut"
    : e.reason === "BadName"
    ? "InvalidInput"
    : e.reason === "Unsupported"
    ? "Unsupported"
    : "Other"
  return new IoError.IoError({
    kind,
    errno: 0,
    syscall: "getaddrinfo",
    address: name.toString(),
    detail: `${check.show(input)}: ${e.message}`,
    cause: e
  })
}

/**
 * The addresses to try for `input`, in order: itself when it is an address
 * (never looked up), the resolver's answer for a host name — from the
 * `AddressResolver` in the context, or `resolver`. A malformed input is
 * `InvalidInput` naming it; a failed lookup is an `IoError` (kind `NotFound`,
 * `TimedOut`, …) with the `DnsError` as `cause`. `syscall` is the operation
 * errors name (`"connect"`, `"bind"`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Resolver, SocketAddress } from "effect-mio"
 *
 * const addresses = Resolver.resolve("localhost:7000").pipe(
 *   Effect.map((all) => all.map(SocketAddress.format))   // ["127.0.0.1:7000", …]
 * )
 * ```
 *
 * @since 0.2.0
 * @category resolvers
 */
export const resolve = (
  input: SocketAddress.Input,
  syscall = "resolve",
  options?: ResolveOptions
): Effect.Effect<NonEmptyReadonlyArray<SocketAddress.SocketAddress>, IoError.IoError> => {
  const a = SocketAddress.classify(input, syscall)
  if (a instanceof IoError.IoError) return Effect.fail(a)
  if (a instanceof SocketAddress.HostName) return resolveName(a, input, options?.family)
  if (options?.inet === true && !SocketAddress.isInet(a)) {
    return Effect.fail(IoError.make("InvalidInput", syscall, `${check.show(input)} is not an IPv4 or IPv6 address`, SocketAddress.format(a)))
  }
  return Effect.succeed([a])
}

/**
 * Options of `resolve`: the IP family wanted of a host name's addresses, and
 * whether only IP addresses will do (`inet`: a path is then `InvalidInput`).
 *
 * @since 0.2.0
 * @category models
 */
export interface ResolveOptions {
  readonly family?: NetAddress.IpFamily | undefined
  readonly inet?: boolean | undefined
}

/**
 * The first address `resolve` gives for `input`.
 *
 * @internal
 */
export const resolveFirst = (
  input: SocketAddress.Input,
  syscall: string,
  options?: ResolveOptions
): Effect.Effect<SocketAddress.SocketAddress, IoError.IoError> => Effect.map(resolve(input, syscall, options), (a) => a[0])

/** The IP family of an address (`undefined` for a Unix one). @internal */
export const familyOf = (a: SocketAddress.SocketAddress): NetAddress.IpFamily | undefined =>
  a._tag === "InetAddressV4" ? "IPv4" : a._tag === "InetAddressV6" ? "IPv6" : undefined

const resolveName = (
  name: SocketAddress.HostName,
  input: unknown,
  family: NetAddress.IpFamily | undefined
): Effect.Effect<NonEmptyReadonlyArray<SocketAddress.SocketAddress>, IoError.IoError> =>
  Effect.flatMap(Effect.serviceOption(AddressResolver.AddressResolver), (provided) => {
    const r = Option.isSome(provided) ? provided.value : resolver
    return Effect.mapError(
      r.resolve({ host: name.host, port: name.port }, family === undefined ? undefined : { family }),
      (e) => lookupError(e, name, input)
    )
  })

/**
 * Runs `attempt` on each address in order until one succeeds; fails with the
 * last failure when none does.
 *
 * @internal
 */
export const firstThatWorks = <A, E, R>(
  addresses: NonEmptyReadonlyArray<SocketAddress.SocketAddress>,
  attempt: (address: SocketAddress.SocketAddress) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const from = (i: number): Effect.Effect<A, E, R> =>
    i === addresses.length - 1 ? attempt(addresses[i]!) : Effect.catch(attempt(addresses[i]!), () => from(i + 1))
  return from(0)
}

/**
 * `firstThatWorks` for attempts that acquire resources: each attempt runs in a
 * Scope of its own, closed when that attempt fails (a connect that was refused
 * leaves no fd behind while the next address is tried). A single address is
 * attempted in the caller's Scope directly.
 *
 * @internal
 */
export const firstThatWorksScoped = <A, E, R>(
  addresses: NonEmptyReadonlyArray<SocketAddress.SocketAddress>,
  attempt: (address: SocketAddress.SocketAddress) => Effect.Effect<A, E, R | Scope.Scope>
): Effect.Effect<A, E, R | Scope.Scope> =>
  addresses.length === 1 ? attempt(addresses[0]) : firstThatWorks(addresses, (address) =>
    Effect.flatMap(Effect.scope, (scope) =>
      Effect.flatMap(Scope.fork(scope), (own) =>
        attempt(address).pipe(
          Scope.provide(own),
          Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(own, exit) : Effect.void)
        ))))

/**
 * Resolves `input` and runs `attempt` on its addresses in order
 * (`firstThatWorks`).
 *
 * @internal
 */
export const withAddress = <A, E, R>(
  input: SocketAddress.Input,
  syscall: string,
  attempt: (address: SocketAddress.SocketAddress) => Effect.Effect<A, E, R>,
  options?: ResolveOptions
): Effect.Effect<A, E | IoError.IoError, R> =>
  Effect.flatMap(resolve(input, syscall, options), (addresses) => firstThatWorks(addresses, attempt))
