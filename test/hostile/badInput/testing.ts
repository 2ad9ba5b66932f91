/**
 * Bad inputs of the testing kit (`effect-mio/testing`): SimNet, Relay,
 * MemorySocket, MemoryDatagram and the Impairment conditions.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Reactor } from "../../../src/reactor/Reactor.ts"
import * as Impairment from "../../../src/testing/Impairment.ts"
import * as MemoryDatagram from "../../../src/testing/MemoryDatagram.ts"
import * as MemorySocket from "../../../src/testing/MemorySocket.ts"
import * as Network from "../../../src/testing/Network.ts"
import * as Relay from "../../../src/testing/Relay.ts"
import * as SimNet from "../../../src/testing/SimNet.ts"
import { type Case, each, eachNaming, type Group, shown } from "./harness.ts"
import { notDurations, notOptions } from "./values.ts"

type Fixture = SimNet.SimNet

const any = <A>(u: unknown): A => u as A
const C = "ConditionsError"

const probabilities: ReadonlyArray<unknown> = [-0.1, 2, Number.NaN, "0.5", null]

/** Values named as they are shown, for fields whose message reports the value itself. */
const plain = (values: ReadonlyArray<unknown>): ReadonlyArray<readonly [unknown, string]> => values.map((v) => [v, shown(v)] as const)

/**
 * Condition fields with their bad values, as `SimNet.make`, `Relay.make` and
 * `Impairment.conditions` take them; a nested value is named by its bad part.
 */
const conditionFields: ReadonlyArray<readonly [string, ReadonlyArray<readonly [unknown, string]>]> = [
  ["loss", plain(probabilities)],
  ["duplicate", plain(probabilities.slice(0, 3))],
  ["reorder", plain(probabilities.slice(1, 4))],
  ["corrupt", plain([2, "x"])],
  ["latency", plain(notDurations)],
  ["jitter", plain(["garbage", {}, -5])],
  ["reorderDelay", plain(["soon", Number.NaN])],
  ["mtu", plain([-1, 1.5, "1500", null])],
  ["burstLoss", [["x", `"x"`], [42, "42"], [{ enterBad: 2, leaveBad: 0.5 }, "enterBad"], [{ enterBad: 0.1 }, "leaveBad"]]],
  ["bandwidth", [
    ["x", `"x"`],
    [{ bitsPerSecond: 0 }, "bitsPerSecond"],
    [{ bitsPerSecond: Number.NaN }, "bitsPerSecond"],
    [{ bitsPerSecond: 1e6, queueBytes: -1 }, "queueBytes"]
  ]]
]

/** One case per condition field and bad value, for one consumer of conditions. */
const conditionCases = (label: string, run: (f: Fixture, input: Record<string, unknown>) => unknown, kind = C): Array<Case<Fixture>> =>
  conditionFields.flatMap(([field, pairs]) => eachNaming<Fixture>(`${label} ${field}`, field, pairs, (f, v) => run(f, { [field]: v }), kind))

const simnet = (o: unknown) => SimNet.make(any(o))

const simnetCases: Array<Case<Fixture>> = [
  ...conditionCases("SimNet.make", (_, o) => simnet(o)),
  ...each<Fixture>("SimNet.make options", "options", notOptions, (_, v) => simnet(v), C),
  ...each<Fixture>("SimNet.make seed", "seed", [Number.NaN, 1.5, "7", 2 ** 60], (_, v) => simnet({ seed: v }), C),
  ...eachNaming<Fixture>("SimNet.make links", "links", [
    ["x", `"x"`],
    [{ nolink: {} }, `"nolink"`],
    [{ "a->b": { loss: 2 } }, "loss"],
    [{ "a->b": "x" }, `"x"`]
  ], (_, v) => simnet({ links: v }), C),
  ...eachNaming<Fixture>("SimNet.make script", "script", [
    ["x", `"x"`],
    [[{ at: "garbage", fault: Network.heal() }], `"garbage"`],
    [[{ at: 0, fault: { _tag: "Nope" } }], `{"_tag":"Nope"}`],
    [[null], "script[0]"]
  ], (_, v) => simnet({ script: v }), C),
  ...each<Fixture>("SimNet.make trace", "trace", ["x", { limit: -1 }, { limit: Number.NaN }], (_, v) => simnet({ trace: v }), C),
  ...each<Fixture>("SimNet.layer loss", "loss", [2], (_, v) => Layer.build(SimNet.layer({ loss: any(v) })), C),
  // The network's operations.
  ...each<Fixture>("net.pair capacity", "capacity", [0, -1, Number.NaN, "8"], (f, v) => f.pair({ capacity: any(v) })),
  ...each<Fixture>("net.pair port", "port", [70000, -1, "1"], (f, v) => f.pair({ portA: any(v) })),
  ...each<Fixture>("net.pair host", "host", ["a->b", "", "*", 42], (f, v) => f.pair({ a: any(v) })),
  ...each<Fixture>("net.advance", "duration", notDurations, (f, v) => f.advance(any(v)), C),
  ...each<Fixture>("net.dropAll link", "link", ["nolink", "", 42], (f, v) => f.dropAll(any(v)), C),
  ...each<Fixture>("net.heal link", "link", ["a-b", 7], (f, v) => f.heal(any(v)), C),
  ...each<Fixture>("net.partition", "fault.a", [null, 42, [], ""], (f, v) => f.partition(any(v), "b"), C),
  ...conditionCases("net.setConditions", (f, o) => f.setConditions("a->b", any(o))).slice(0, 12),
  ...each<Fixture>("net.setConditions link", "link", ["ab", null], (f, v) => f.setConditions(any(v), {}), C),
  ...each<Fixture>("net.at time", "time", ["garbage", -1, {}], (f, v) => f.at(any(v), Network.heal()), C),
  ...each<Fixture>("net.inject fault", "fault", [null, { _tag: "Nope" }, "heal"], (f, v) => f.inject(any(v)), C),
  ...each<Fixture>("net.stats link", "link", ["nolink", 42], (f, v) => f.stats(any(v)), C),
  ...each<Fixture>("net.report last", "last", [-1, Number.NaN, "5"], (f, v) => f.report({ last: any(v) }), C)
]

const memoryCases: Array<Case<Fixture>> = [
  ...each<Fixture>("MemorySocket.make to", "to", ["garbage", "server:99999", null, 42, {}], (_, v) =>
    Effect.flatMap(MemorySocket.make({ to: any(v) }), (s) => s.reader)),
  ...each<Fixture>("MemorySocket.make options", "options", [undefined, ...notOptions], (_, v) => MemorySocket.make(any(v))),
  ...each<Fixture>("MemorySocket.make window", "window", [0, -1, Number.NaN, "64", 1.5], (_, v) =>
    MemorySocket.make({ to: "server:80", window: any(v) })),
  ...each<Fixture>("MemorySocket.make host", "host", ["a->b", "", 42], (_, v) =>
    Effect.flatMap(MemorySocket.make({ to: "server:80", host: any(v) }), (s) => s.reader)),
  ...each<Fixture>("MemorySocket.listen port", "port", [70000, -1, Number.NaN, "80"], (_, v) => MemorySocket.listen({ port: any(v) })),
  ...each<Fixture>("MemorySocket.listen backlog", "backlog", [-1, Number.NaN, "8"], (_, v) => MemorySocket.listen({ backlog: any(v) })),
  ...each<Fixture>("MemorySocket.listen window", "window", [0, Number.NaN], (_, v) => MemorySocket.listen({ window: any(v) })),
  ...each<Fixture>("MemorySocket.listen host", "host", ["*", ""], (_, v) => MemorySocket.listen({ host: any(v) })),
  ...each<Fixture>("MemorySocket.listen options", "options", notOptions, (_, v) => MemorySocket.listen(any(v))),
  ...each<Fixture>("MemorySocket.pair window", "window", [0, Number.NaN], (_, v) => MemorySocket.pair({ window: any(v) })),
  ...each<Fixture>("MemorySocket.pair host", "host", ["a->b"], (_, v) => MemorySocket.pair({ a: any(v) })),
  ...each<Fixture>("MemoryDatagram.make port", "port", [70000, -1, "53"], (_, v) =>
    Effect.flatMap(MemoryDatagram.make({ port: any(v) }), (s) => s.reader)),
  ...each<Fixture>("MemoryDatagram.make host", "host", ["*", "", 42], (_, v) => Effect.flatMap(MemoryDatagram.make({ host: any(v) }), (s) => s.reader)),
  ...each<Fixture>("MemoryDatagram.make peer", "peer", ["garbage", "x:99999", 42], (_, v) =>
    Effect.flatMap(MemoryDatagram.make({ peer: any(v) }), (s) => s.reader)),
  ...each<Fixture>("MemoryDatagram.make connect", "connect", ["garbage"], (_, v) => Effect.flatMap(MemoryDatagram.make({ connect: any(v) }), (s) => s.reader)),
  ...each<Fixture>("MemoryDatagram.make receiveBuffer.capacity", "receiveBuffer.capacity", [0, -1, Number.NaN], (_, v) =>
    Effect.flatMap(MemoryDatagram.make({ receiveBuffer: { capacity: any(v) } }), (s) => s.reader)),
  ...each<Fixture>("MemoryDatagram.make options", "options", notOptions, (_, v) => MemoryDatagram.make(any(v))),
  ...each<Fixture>("MemoryDatagram.udpLike capacity", "capacity", [0, Number.NaN], (_, v) =>
    MemoryDatagram.udpLike({ peer: "b:9", capacity: any(v) })),
  ...each<Fixture>("MemoryDatagram.udpLike peer", "peer", ["garbage", null], (_, v) => MemoryDatagram.udpLike({ peer: any(v) }))
]

const impairmentCases: Array<Case<Fixture>> = [
  ...conditionCases("Impairment.conditions", (_, o) => Impairment.conditions(any(o))),
  ...each<Fixture>("Impairment.conditions input", "conditions", notOptions, (_, v) => Impairment.conditions(any(v)), C),
  ...each<Fixture>("Impairment.parseRate", "rate", ["150%", "x", "", 42, null], (_, v) => Impairment.parseRate(any(v)), C),
  ...each<Fixture>("Impairment.parseMillis", "duration", ["soon", "-5ms", 42, null], (_, v) => Impairment.parseMillis(any(v)), C),
  ...each<Fixture>("Impairment.parseBitRate", "rate", ["fast", "0mbit", 42], (_, v) => Impairment.parseBitRate(any(v)), C),
  ...eachNaming<Fixture>("Impairment.fromFlags", "flags", [[null, "null"], ["loss=5%", `"loss=5%"`]], (_, v) => Impairment.fromFlags(any(v)), C),
  ...eachNaming<Fixture>("Impairment.fromFlags flag", "--", [
    [{ loss: "lots" }, `"lots"`],
    [{ warp: "9" }, "warp"],
    [{ loss: 5 }, "5"],
    [{ mtu: "-1" }, `"-1"`],
    [{ burst: "1%" }, `"1%"`],
    [{ queue: "100" }, "--queue needs --rate"]
  ], (_, v) => Impairment.fromFlags(any(v)), C)
]

const relayCases: Array<Case<Fixture>> = [
  ...each<Fixture>("Relay.make options", "options", [undefined, ...notOptions], (_, v) => Relay.make(any(v))),
  ...each<Fixture>("Relay.make target", "connect", ["garbage", null, { _tag: "InetAddressV4" }], (_, v) => Relay.make({ target: any(v) })),
  ...each<Fixture>("Relay.make listen", "bind", ["garbage", { _tag: "InetAddressV6" }, "/tmp/x.sock"], (_, v) =>
    Relay.make({ target: "127.0.0.1:9", listen: any(v) })),
  ...each<Fixture>("Relay.make resolutionMs", "resolutionMs", [-1, Number.NaN, "1", Infinity], (_, v) =>
    Relay.make({ target: "127.0.0.1:9", resolutionMs: any(v) })),
  ...each<Fixture>("Relay.make seed", "seed", [Number.NaN, "1"], (_, v) => Relay.make({ target: "127.0.0.1:9", seed: any(v) })),
  ...each<Fixture>("Relay.make maxClients", "maxClients", [0, -1, 1.5, Number.NaN, "8"], (_, v) => Relay.make({ target: "127.0.0.1:9", maxClients: any(v) })),
  ...each<Fixture>("Relay.make maxInFlight", "maxInFlight", [0, -1, Number.NaN, "8"], (_, v) => Relay.make({ target: "127.0.0.1:9", maxInFlight: any(v) })),
  ...conditionCases("Relay.make conditions", (_, o) => Relay.make({ target: "127.0.0.1:9", conditions: any(o) }), "InvalidInput").slice(0, 14),
  ...eachNaming<Fixture>("Relay.make forward", "forward", [[{ loss: 2 }, "loss"], ["x", `"x"`]], (_, v) =>
    Relay.make({ target: "127.0.0.1:9", forward: any(v) })),
  ...eachNaming<Fixture>("Relay.make backward", "backward", [[{ latency: "garbage" }, `"garbage"`]], (_, v) =>
    Relay.make({ target: "127.0.0.1:9", backward: any(v) }))
]

/** The SimNet in context (the test provides `SimNet.layer`). */
const fixture = Effect.gen(function*() {
  return yield* SimNet.SimNet
})

/** @internal */
export const testingGroups: ReadonlyArray<Group<Fixture, Reactor | SimNet.SimNet>> = [
  { name: "simnet", fixture, cases: simnetCases },
  { name: "memory transports", fixture, cases: memoryCases },
  { name: "impairment", fixture, cases: impairmentCases },
  { name: "relay", fixture, cases: relayCases }
]
