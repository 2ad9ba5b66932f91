/**
 * Every state × every packet type, on real engines: each engine is brought
 * into a state by a real exchange, then given one packet of each type with
 * valid sequence and acknowledgement numbers. The expectations below are
 * written from RFC 4340 §8.5 (steps 2–16), independently of State.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ConnectionEvent } from "../../../src/dccp/engine/Connection.ts"
import { PACKET_TYPE_CODE, PACKET_TYPES, type Packet, type PacketType } from "../../../src/dccp/engine/Packet.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"
import { LOCAL, RECEIVE, type Role, type State, STATES } from "../../../src/dccp/engine/State.ts"
import { drainEvents } from "./harness.ts"
import { craft, fixtures, sent } from "./link.ts"

/** What must come back: a packet type, a Reset code, or nothing of note. */
type Reply = "none" | "Ack" | "Sync" | "SyncAck" | "Response" | "Close" | { readonly reset: number }

interface Expected {
  readonly reply: Reply
  readonly state: State
  readonly delivers: boolean
}

const x = (reply: Reply, state: State, delivers = false): Expected => ({ reply, state, delivers })

/** RFC 4340 §8.5 for a packet with valid sequence numbers. */
const expected = (role: Role, state: State, type: PacketType): Expected => {
  // Step 2: no connection or TIMEWAIT.
  if (state === "CLOSED" || state === "TIMEWAIT") return x(type === "Reset" ? "none" : { reset: 3 }, state)
  // Step 4: REQUEST accepts only Response and Reset.
  if (state === "REQUEST") {
    if (type === "Response") return x("Ack", "PARTOPEN")
    if (type === "Reset") return x("none", "TIMEWAIT")
    return x({ reset: 4 }, "REQUEST")
  }
  // Step 7: unexpected types get a Sync.
  const server = role === "server"
  const atLeastOpen = state === "OPEN" || state === "CLOSEREQ" || state === "CLOSING"
  if (
    (server && type === "Response") || (!server && type === "Request") ||
    (atLeastOpen && (type === "Request" || type === "Response")) ||
    (state === "RESPOND" && type === "Data") || (server && type === "CloseReq")
  ) {
    return x("Sync", state)
  }
  // Step 9: Reset.
  if (type === "Reset") return x("none", "TIMEWAIT")
  // Steps 11 and 12 decide whether the connection opens.
  let now = state
  if (state === "RESPOND" && type === "Request") return x("Response", "RESPOND")
  if (state === "PARTOPEN" && type === "Response") return x("Ack", "PARTOPEN")
  if (state === "RESPOND" || (state === "PARTOPEN" && type !== "Sync")) now = "OPEN"
  // The application of a closing endpoint no longer reads (Data Dropped "not listening").
  const appClosed = state === "CLOSING" || state === "CLOSEREQ"
  switch (type) {
    case "CloseReq":
      // Step 13, client only (servers were handled in step 7), below CLOSEREQ.
      return now === "OPEN" ? x("Close", "CLOSING") : x("none", now)
    case "Close":
      return x({ reset: 1 }, "CLOSED")
    case "Sync":
      return x("SyncAck", now)
    case "Data":
    case "DataAck":
      return x("none", now, !appClosed)
    default:
      return x("none", now)
  }
}

const significant = (packets: ReadonlyArray<Packet>) => packets.filter((p) => p.type !== "Ack" && p.type !== "DataAck")

const describeReply = (r: Reply) => (typeof r === "string" ? r : `Reset(${r.reset})`)

describe("StateTable: every state × packet type on real engines (RFC 4340 §8.5)", () => {
  for (const role of ["client", "server"] as const) {
    for (const state of STATES) {
      const fixture = fixtures[role][state]
      if (fixture === undefined) continue
      for (const type of PACKET_TYPES) {
        const want = expected(role, state, type)
        it(`${role} ${state} × ${type} → ${describeReply(want.reply)}, ${want.state}`, () => {
          const { engine, now } = fixture()
          assert.strictEqual(engine.state, state)
          drainEvents(engine)
          const bytes = craft(engine, type)
          engine.handleDatagram(now, bytes)
          const out = sent(engine, now)
          const events: Array<ConnectionEvent> = drainEvents(engine)
          assert.strictEqual(engine.state, want.state, `state after ${type}`)
          const notable = significant(out)
          const reply = want.reply
          if (reply === "none") {
            assert.deepStrictEqual(notable.map((p) => p.type), [], "no control packet expected")
          } else if (reply === "Ack") {
            assert.isTrue(out.some((p) => p.type === "Ack"), "an Ack is sent")
          } else if (typeof reply === "string") {
            assert.strictEqual(notable[0]?.type, reply)
          } else {
            const r = notable[0]
            assert.strictEqual(r?.type, "Reset")
            assert.strictEqual(r?.resetCode, reply.reset)
            const info = engine.info()
            if (reply.reset === 3) {
              // Step 2: the Reset's numbers come from the packet (§8.5, §8.3.1).
              const peerAck = type === "Request" || type === "Data" ? undefined : info.gss
              assert.strictEqual(r?.seq, peerAck !== undefined ? Seq.add(peerAck, 1) : 0)
              assert.strictEqual(r?.ack, info.gsr !== undefined ? Seq.add(info.gsr, 1) : 5_000)
            }
            if (reply.reset === 4) assert.strictEqual(r?.resetData?.[0], PACKET_TYPE_CODE[type])
          }
          const delivered = events.some((e) => e.type === "data" && e.payload.length === 3)
          assert.strictEqual(delivered, want.delivers, "data delivery")
        })
      }
    }
  }
})

describe("StateTable: the tables themselves", () => {
  it("every role × state × packet type and local event has a cell", () => {
    for (const role of ["client", "server"] as const) {
      for (const state of STATES) {
        for (const type of PACKET_TYPES) assert.isDefined(RECEIVE[role][state][type])
        assert.isDefined(LOCAL[role][state])
      }
    }
  })

  it("a Reset is never answered with a Reset", () => {
    for (const role of ["client", "server"] as const) {
      for (const state of STATES) {
        const cell = RECEIVE[role][state].Reset
        assert.notStrictEqual(cell.kind, "no-connection")
        assert.notStrictEqual(cell.kind, "packet-error")
      }
    }
  })

  it("states a role never has are marked unreachable", () => {
    for (const state of ["LISTEN", "RESPOND", "CLOSEREQ"] as const) {
      for (const type of PACKET_TYPES) assert.strictEqual(RECEIVE.client[state][type].kind, "unreachable")
    }
    for (const state of ["REQUEST", "PARTOPEN"] as const) {
      for (const type of PACKET_TYPES) assert.strictEqual(RECEIVE.server[state][type].kind, "unreachable")
    }
  })
})

describe("StateTable: old Requests and Responses below OSR are dropped silently (§8.5 step 7)", () => {
  it("a Response older than the first OPEN packet gets no Sync", () => {
    const { engine, now } = fixtures.client.OPEN!()
    const info = engine.info()
    // An old duplicate Response: sequence number ISR, before OSR but inside the window.
    engine.handleDatagram(now, craft(engine, "Response", { seq: info.isr! }))
    assert.deepStrictEqual(sent(engine, now).map((p) => p.type), [])
    assert.strictEqual(engine.stats.droppedUnexpected, 1)
  })
})
