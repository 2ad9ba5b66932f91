/**
 * A seeded fuzzer: more than 10^5 random and mutated packets (bit flips,
 * truncations, garbage options, valid headers with wrong sequence numbers, …)
 * fed to engines in every state and to a listener. The engines must never
 * throw, never leave a deadline in the past (a hang), never emit a packet
 * that does not decode or checksum, and never make a state transition the
 * RFC does not allow. Packets with a bad checksum must be dropped silently
 * and counted.
 *
 * The generator is a plain seeded PRNG here (mulberry32), independent of the
 * engine's own; a failure prints the seed and step to replay.
 */
import { assert, describe, it } from "@effect/vitest"
import { computeDccpChecksum, coverageLength, verifyDccpChecksum, writeDccpChecksum } from "../../../src/dccp/engine/Checksum.ts"
import { incomingPseudoHeader, makeConfig, outgoingPseudoHeader } from "../../../src/dccp/engine/Config.ts"
import type { DccpEngine } from "../../../src/dccp/engine/Connection.ts"
import { DccpListener, makeListenerConfig } from "../../../src/dccp/engine/Listener.ts"
import { decodePacket, PACKET_TYPES } from "../../../src/dccp/engine/Packet.ts"
import { seededRandom } from "../../../src/dccp/engine/Random.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"
import type { Role, State } from "../../../src/dccp/engine/State.ts"
import { fromClient, SERVER_PORT, SERVICE, serverPath } from "./harness.ts"
import { craft, fixtures } from "./link.ts"

/** mulberry32: a tiny seeded PRNG for the fuzzer itself. */
const prng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    bytes: (n: number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
    pick: <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(next() * xs.length)]!
  }
}

/**
 * Transitions RFC 4340 allows (§8.4 diagram, §8.5 steps, §8.3), per role,
 * including those caused by API calls and timers. Written from the RFC, not
 * from State.ts.
 */
const ALLOWED: Record<Role, ReadonlySet<string>> = {
  client: new Set([
    "CLOSED>REQUEST",
    "REQUEST>PARTOPEN",
    "REQUEST>TIMEWAIT",
    "REQUEST>CLOSED",
    "PARTOPEN>OPEN",
    "PARTOPEN>CLOSING",
    "PARTOPEN>CLOSED",
    "PARTOPEN>TIMEWAIT",
    "OPEN>CLOSING",
    "OPEN>CLOSED",
    "OPEN>TIMEWAIT",
    "CLOSING>TIMEWAIT",
    "CLOSING>CLOSED",
    "TIMEWAIT>CLOSED"
  ]),
  server: new Set([
    "CLOSED>RESPOND",
    "RESPOND>OPEN",
    "RESPOND>CLOSED",
    "RESPOND>TIMEWAIT",
    "OPEN>CLOSEREQ",
    "OPEN>CLOSING",
    "OPEN>CLOSED",
    "OPEN>TIMEWAIT",
    "CLOSEREQ>CLOSED",
    "CLOSEREQ>TIMEWAIT",
    "CLOSING>TIMEWAIT",
    "CLOSING>CLOSED",
    "TIMEWAIT>CLOSED"
  ])
}

const TARGETS: ReadonlyArray<[Role, State]> = [
  ["client", "REQUEST"],
  ["client", "PARTOPEN"],
  ["client", "OPEN"],
  ["client", "CLOSING"],
  ["client", "TIMEWAIT"],
  ["client", "CLOSED"],
  ["server", "RESPOND"],
  ["server", "OPEN"],
  ["server", "CLOSEREQ"],
  ["server", "CLOSING"],
  ["server", "TIMEWAIT"],
  ["server", "CLOSED"]
]

type Rng = ReturnType<typeof prng>

/** One fuzzed packet for `engine`, and whether its checksum was deliberately left wrong. */
const fuzzPacket = (rng: Rng, engine: DccpEngine): { bytes: Uint8Array; badChecksum: boolean } => {
  const info = engine.info()
  const type = rng.pick(PACKET_TYPES)
  const near = (base: number | undefined) => Seq.add(base ?? 0, rng.int(400) - 200)
  const wild = () => rng.int(0x10000) * 0x100000000 + rng.int(0x100000000)
  let bytes: Uint8Array
  switch (rng.int(10)) {
    case 0:
      // Pure noise.
      return { bytes: rng.bytes(rng.int(120)), badChecksum: false }
    case 1:
      // A valid header with wild sequence and acknowledgement numbers.
      bytes = craft(engine, type, { seq: wild(), ack: wild() })
      break
    case 2:
      // Numbers near the windows' edges.
      bytes = craft(engine, type, { seq: near(info.gsr), ack: near(info.gss) })
      break
    case 3: {
      // Garbage options: random bytes, padded, Data Offset adjusted by the encoder.
      const n = rng.int(11) * 4
      bytes = craft(engine, type, { options: rng.bytes(n) })
      break
    }
    case 4: {
      // Plausible options with random values and lengths.
      const opts: Array<number> = []
      for (let k = rng.int(6); k > 0; k--) {
        const t = rng.pick([0, 1, 2, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 128, 192, 200])
        if (t < 32) opts.push(t)
        else {
          const len = rng.int(10)
          opts.push(t, len, ...rng.bytes(Math.max(0, len - 2)))
        }
      }
      while (opts.length % 4 !== 0) opts.push(0)
      bytes = craft(engine, type, { options: Uint8Array.from(opts.slice(0, 200)) })
      break
    }
    default: {
      bytes = craft(engine, type, rng.next() < 0.5 ? {} : { seq: near(info.gsr) })
      // Mutate the encoded bytes.
      const m = rng.int(6)
      if (m === 0) {
        for (let k = 1 + rng.int(4); k > 0; k--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8)
      } else if (m === 1) {
        bytes = bytes.subarray(0, rng.int(bytes.length + 1)).slice()
      } else if (m === 2) {
        bytes = Uint8Array.from([...bytes, ...rng.bytes(1 + rng.int(40))])
      } else if (m === 3) {
        if (bytes.length > 8) bytes[8] = (rng.int(16) << 1) | rng.int(2)
      } else if (m === 4) {
        if (bytes.length > 5) bytes[4] = rng.int(256)
      } else {
        if (bytes.length > 5) bytes[5] = rng.int(256)
      }
    }
  }
  // Most packets get a correct checksum so that they reach the deeper steps.
  const pseudo = incomingPseudoHeader(engine.path)
  if (bytes.length >= 8 && rng.next() < 0.85) {
    const d = decodePacket(bytes)
    const coverage = d.ok ? d.packet.coverage : bytes.length
    writeDccpChecksum(pseudo, bytes, coverage)
    return { bytes, badChecksum: false }
  }
  if (bytes.length >= 16) {
    // Deliberately wrong: the correct value plus one.
    const d = decodePacket(bytes)
    const coverage = d.ok ? d.packet.coverage : bytes.length
    const c = (computeDccpChecksum(pseudo, bytes, coverage) + 1) & 0xffff
    bytes[6] = c >>> 8
    bytes[7] = c & 0xff
    return { bytes, badChecksum: true }
  }
  return { bytes, badChecksum: false }
}

/** Everything an engine sends must decode, checksum, use X=1 and fit the path MTU. */
const checkOutput = (engine: DccpEngine, bytes: Uint8Array, where: string) => {
  const d = decodePacket(bytes)
  assert.isTrue(d.ok, `${where}: undecodable output`)
  if (!d.ok) return
  assert.isTrue(d.packet.extended, `${where}: X=0 sent`)
  assert.isTrue(verifyDccpChecksum(outgoingPseudoHeader(engine.path), bytes, d.packet.coverage), `${where}: bad checksum sent`)
  assert.isAtMost(bytes.length, engine.config.pathMtu - 20, `${where}: larger than the path MTU`)
  assert.strictEqual(d.packet.sourcePort, engine.path.localPort)
  assert.strictEqual(d.packet.destinationPort, engine.path.remotePort)
}

describe("Fuzz: engines in every state", () => {
  it("≥ 10^5 random and mutated packets: no throw, no hang, only allowed transitions, bad checksums dropped", () => {
    const seed = 0x5eed_dcc9
    const rng = prng(seed)
    let fed = 0
    let badChecksums = 0
    const perTarget = 8_500
    const reached = new Set<string>()
    for (const [role, target] of TARGETS) {
      let fedHere = 0
      let episode = 0
      while (fedHere < perTarget) {
        episode++
        const fixture = fixtures[role][target]!()
        const engine = fixture.engine
        let now = fixture.now
        let current = engine.state
        assert.strictEqual(current, target)
        for (let k = 0; k < 150 && fedHere < perTarget; k++, fedHere++, fed++) {
          const where = `seed ${seed} ${role} ${target} episode ${episode} packet ${k}`
          const { bytes, badChecksum } = fuzzPacket(rng, engine)
          const checksumDropsBefore = engine.stats.droppedChecksum
          try {
            engine.handleDatagram(now, bytes)
          } catch (e) {
            assert.fail(`${where}: handleDatagram threw ${String(e)}`)
          }
          if (badChecksum && decodePacket(bytes).ok) {
            badChecksums++
            assert.strictEqual(engine.stats.droppedChecksum, checksumDropsBefore + 1, `${where}: bad checksum not counted`)
            assert.isUndefined(engine.pollTransmit(now), `${where}: answered a packet with a bad checksum`)
          }
          if (engine.state !== current) {
            const step = `${current}>${engine.state}`
            assert.isTrue(ALLOWED[role].has(step), `${where}: forbidden transition ${step}`)
            reached.add(`${role} ${step}`)
            current = engine.state
          }
          for (let b = engine.pollTransmit(now); b !== undefined; b = engine.pollTransmit(now)) checkOutput(engine, b, where)
          for (let e = engine.pollEvent(); e !== undefined; e = engine.pollEvent()) {
            // drain
          }
          // Time moves on; due timers fire; nothing is left overdue.
          now += rng.int(60)
          const due = engine.pollTimeout()
          if (due !== undefined) {
            assert.isTrue(Number.isFinite(due), `${where}: deadline ${due}`)
            if (due <= now) {
              engine.handleTimeout(now)
              const next = engine.pollTimeout()
              assert.isTrue(next === undefined || next > now, `${where}: timer still due after handleTimeout`)
              if (engine.state !== current) {
                const step = `${current}>${engine.state}`
                assert.isTrue(ALLOWED[role].has(step), `${where}: forbidden transition ${step} on a timer`)
                current = engine.state
              }
              for (let b = engine.pollTransmit(now); b !== undefined; b = engine.pollTransmit(now)) checkOutput(engine, b, where)
            }
          }
        }
      }
    }
    assert.isAtLeast(fed, 100_000)
    assert.isAbove(badChecksums, 1_000)
    // The fuzzer really moved engines around.
    assert.isAbove(reached.size, 10)
  })
})

describe("Fuzz: the listener", () => {
  it("random and mutated packets never throw and never create more connections than allowed", () => {
    const seed = 0x11_57e4
    const rng = prng(seed)
    const listener = new DccpListener(
      makeListenerConfig({
        port: SERVER_PORT,
        serviceCodes: [SERVICE],
        connection: makeConfig({ random: seededRandom(3) }),
        maxHalfOpen: 8,
        maxConnections: 32
      })
    )
    // A template engine gives valid headers for the listener's port.
    const template = fixtures.server.RESPOND!().engine
    let now = 0
    for (let i = 0; i < 20_000; i++) {
      const port = 30_000 + rng.int(50)
      const { bytes } = fuzzPacket(rng, template)
      // Re-address the packet to a random client port and re-checksum it.
      if (bytes.length >= 4) {
        bytes[0] = port >>> 8
        bytes[1] = port & 0xff
      }
      if (bytes.length >= 8 && rng.next() < 0.9) {
        const d = decodePacket(bytes)
        const coverage = d.ok ? (coverageLength(d.packet.dataOffset, d.packet.cscov, bytes.length) ?? bytes.length) : bytes.length
        writeDccpChecksum(incomingPseudoHeader({ ...serverPath, remotePort: port }), bytes, coverage)
      }
      try {
        listener.handleDatagram(now, bytes, fromClient)
        for (let t = listener.pollTransmit(now); t !== undefined; t = listener.pollTransmit(now)) {
          const d = decodePacket(t.bytes)
          assert.isTrue(d.ok, `seed ${seed} step ${i}: undecodable output`)
          assert.isTrue(verifyDccpChecksum(outgoingPseudoHeader(t.path), t.bytes, d.ok ? d.packet.coverage : 0))
        }
        while (listener.pollEvent() !== undefined) {
          // drain
        }
        now += rng.int(100)
        const due = listener.pollTimeout()
        if (due !== undefined && due <= now) listener.handleTimeout(now)
      } catch (e) {
        assert.fail(`seed ${seed} step ${i}: ${String(e)}`)
      }
      assert.isAtMost(listener.connectionCount, 32)
    }
  })
})
