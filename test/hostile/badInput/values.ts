/**
 * Bad values shared by the tables: every kind of garbage an untyped caller
 * (JavaScript, JSON config, `as any`) can pass where a number, a boolean, a
 * duration or an address is expected.
 */

/** Not an integer at all (wrong type, or not finite, or a fraction). */
export const notIntegers: ReadonlyArray<unknown> = [Number.NaN, Infinity, 1.5, "8", null, {}, true]

/** Not a boolean. */
export const notBooleans: ReadonlyArray<unknown> = ["yes", 1, null, {}]

/** Not a duration (or a negative one). */
export const notDurations: ReadonlyArray<unknown> = ["garbage", -1, Number.NaN, {}, null, true, "-5 seconds", [1]]

/** Not a socket address of any family. */
export const notAddresses: ReadonlyArray<unknown> = [
  "garbage",
  "",
  42,
  null,
  {},
  { _tag: "Nope" },
  { _tag: "InetAddressV4" },
  { _tag: "InetAddressV6" },
  { _tag: "UnixPathAddress" },
  { _tag: "UnixAbstractAddress" },
  "127.0.0.1:99999",
  "300.1.1.1:80",
  "[::1"
]

/** IP addresses that are not usable (a path, a malformed literal, an object with only a `_tag`). */
export const notInetAddresses: ReadonlyArray<unknown> = [
  "garbage",
  42,
  null,
  { _tag: "InetAddressV4" },
  { _tag: "InetAddressV6", port: 1 },
  "127.0.0.1:70000",
  "/tmp/not-an-ip.sock"
]

/** Unix paths the kernel cannot take. */
export const notUnixPaths: ReadonlyArray<unknown> = [
  `/tmp/${"x".repeat(200)}`,
  "/tmp/nul\0byte",
  `@${"y".repeat(200)}`,
  "",
  42,
  null,
  { _tag: "UnixPathAddress" },
  { _tag: "UnixAbstractAddress", bytes: "name" },
  "127.0.0.1:80"
]

/**
 * Address parts that are not an address (issue 14): `{ host, port }`,
 * `{ address, port, scopeId? }` and `{ path }` with a bad port, host or field.
 * None needs a lookup (a lookup is not bad input).
 */
export const notAddressParts: ReadonlyArray<unknown> = [
  { host: "localhost", port: 70000 },
  { host: "localhost", port: "80" },
  { host: "localhost" },
  { address: "127.0.0.1", port: -1 },
  { address: "::1", port: 1, scopeId: -1 },
  { address: "::1", port: 1, scopeId: "eth0" },
  { host: "bad..name", port: 1 },
  { host: "-bad", port: 1 },
  { host: {}, port: 1 },
  { address: null, port: 1 },
  { address: [1, 2, 3], port: 1 },
  { host: "a", address: "b", port: 1 },
  { port: 1 },
  { path: 42 }
]

/**
 * Host names, which the synchronous calls (`sendTo`, `connect` of a datagram
 * socket, the `…Unscoped` constructors, `SocketAddress.parse`) cannot resolve.
 */
export const hostNames: ReadonlyArray<unknown> = [
  "localhost:80",
  { host: "localhost", port: 80 },
  { address: "example.com", port: 443 }
]

/** Not an options object. */
export const notOptions: ReadonlyArray<unknown> = ["x", 42, null]
