/**
 * Bad inputs of reliable UDP's part 2 options: congestion control,
 * encryption (keys are described, never shown), path MTU discovery's
 * `maxMtu`, and the endpoint server's
 * options. Each is a `RudpError` of kind `InvalidConfig` naming the option
 * and the value (kind `InvalidInput` for a bad address, through the socket's
 * `IoError`).
 */
import * as Effect from "effect/Effect"
import * as Endpoint from "../../../src/rudp/Endpoint.ts"
import * as EndpointServer from "../../../src/rudp/EndpointServer.ts"
import type { UdpLike } from "../../../src/rudp/UdpLike.ts"
import * as MemoryDatagram from "../../../src/testing/MemoryDatagram.ts"
import type * as SimNet from "../../../src/testing/SimNet.ts"
import type { Reactor } from "../../../src/reactor/Reactor.ts"
import { type Case, each, eachNaming, type Group } from "./harness.ts"
import { notAddresses, notDurations, notIntegers, notOptions } from "./values.ts"

interface RudpFixture {
  readonly udp: UdpLike<never>
  readonly socket: Effect.Success<ReturnType<typeof MemoryDatagram.make>>
}

const fixture = Effect.gen(function*() {
  const socket = yield* MemoryDatagram.make({ host: "bad-rudp", port: 0 })
  const udp: UdpLike<never> = { send: () => Effect.void, tryRecv: () => Effect.succeed(undefined), readable: Effect.never }
  return { udp, socket } satisfies RudpFixture
})

const C = "InvalidConfig"
const any = <A>(u: unknown): A => u as A
const endpoint = (f: RudpFixture, config: unknown) => Endpoint.make(f.udp, any(config))
const server = (f: RudpFixture, config: unknown) => EndpointServer.fromDatagramSocket(f.socket, any(config))
const bytes = (n: number) => new Uint8Array(n).fill(7)

/** Encryption options that are wrong, and what the message must name instead of the secret. */
const badEncryption: ReadonlyArray<readonly [unknown, string]> = [
  ["x", "encryption"],
  [{}, "neither psk nor privateKey"],
  [{ psk: "too short" }, "16 to 1024 bytes"],
  [{ psk: 42 }, "16 to 1024 bytes"],
  [{ psk: bytes(2000) }, "16 to 1024 bytes"],
  [{ psk: bytes(32), cipher: "rc4" }, "\"rc4\""],
  [{ privateKey: bytes(31), peerPublicKey: bytes(32) }, "32 bytes"],
  [{ privateKey: "k", peerPublicKey: bytes(32) }, "32 bytes"],
  [{ privateKey: bytes(32), peerPublicKey: bytes(3) }, "32 bytes"],
  [{ privateKey: bytes(32) }, "required of a client"],
  [{ psk: bytes(32), keyUpdateAfter: 0 }, "keyUpdateAfter"],
  [{ psk: bytes(32), keyUpdateAfter: 2 ** 23 }, "keyUpdateAfter"],
  [{ psk: bytes(32), keyUpdateAfter: "often" }, "keyUpdateAfter"],
  [{ psk: bytes(32), integrityLimit: -1 }, "integrityLimit"],
  [{ psk: bytes(32), cipher: "chacha20-poly1305", integrityLimit: 2 ** 40 }, "integrityLimit"]
]

const endpointCases: Array<Case<RudpFixture>> = [
  ...each<RudpFixture>("Endpoint.make congestion", "congestion", ["cubic", 42, null, {}], (f, v) => endpoint(f, { congestion: v }), C),
  ...eachNaming<RudpFixture>("Endpoint.make encryption", "encryption", badEncryption, (f, v) => endpoint(f, { encryption: v }), C),
  ...each<RudpFixture>("Endpoint.make window", "window", [0, -1, 1.5, "1M"], (f, v) => endpoint(f, { congestion: "none", window: v }), C),
  // Path MTU discovery's bound: an integer from mtu (1,200) to 65,507.
  ...each<RudpFixture>("Endpoint.make maxMtu", "maxMtu", [1199, 65_508, 0, -1, 1500.5, "9000", null], (f, v) => endpoint(f, { maxMtu: v }), C)
]

const serverCases: Array<Case<RudpFixture>> = [
  ...each<RudpFixture>("EndpointServer maxPeers", "maxPeers", [0, -1, 2 ** 21, ...notIntegers], (f, v) => server(f, { maxPeers: v }), C),
  ...each<RudpFixture>("EndpointServer backlog", "backlog", [0, -3, ...notIntegers], (f, v) => server(f, { backlog: v }), C),
  ...each<RudpFixture>("EndpointServer drive", "drive", ["user", 1, null], (f, v) => server(f, { drive: v }), C),
  ...each<RudpFixture>("EndpointServer retry", "retry", ["sometimes", true, 1, null], (f, v) => server(f, { retry: v }), C),
  ...each<RudpFixture>("EndpointServer tokenLifetime", "tokenLifetime", [1, "1 millis", "2 days"], (f, v) => server(f, { tokenLifetime: v }), C),
  ...eachNaming<RudpFixture>("EndpointServer tokenLifetime", "tokenLifetime", notDurations.slice(0, 4).map((v) => [v, "tokenLifetime"] as const), (f, v) => server(f, { tokenLifetime: v }), C),
  ...eachNaming<RudpFixture>("EndpointServer encryption", "encryption", badEncryption.slice(0, 8), (f, v) => server(f, { encryption: v }), C),
  ...each<RudpFixture>("EndpointServer congestion", "congestion", ["reno"], (f, v) => server(f, { congestion: v }), C),
  ...each<RudpFixture>("EndpointServer config", "config", notOptions.slice(1), (f, v) => server(f, v), C),
  ...each<RudpFixture>("EndpointServer.make address", "", notAddresses.slice(0, 4), (_f, v) => EndpointServer.make(any(v)), "InvalidInput")
]

export const rudpGroups: ReadonlyArray<Group<RudpFixture, Reactor | SimNet.SimNet>> = [
  { name: "reliable UDP endpoint options (part 2)", fixture, cases: endpointCases },
  { name: "reliable UDP endpoint server", fixture, cases: serverCases }
]
