/**
 * SoupBinTCP's wire, byte for byte: the Login Request of the spec's layout
 * (51 bytes after the type, so a length of 52), Login Accepted, the empty
 * packets, and Sequenced Data carrying an OUCH-like Enter Order; every packet
 * round trips; a malformed login is a typed decode error.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import { Codec, Framer } from "../../src/index.ts"
import * as Ouch from "../../examples/soupbintcp/Ouch.ts"
import * as SoupBinTcp from "../../examples/soupbintcp/SoupBinTcp.ts"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0))
const bytes = (...parts: Array<string | ReadonlyArray<number>>) => Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? ascii(p) : [...p])))

const wire = SoupBinTcp.wire({ client: Ouch.Inbound, server: Ouch.Outbound })
const client = Codec.binary(wire.Client.schema, wire.Client)
const server = Codec.binary(wire.Server.schema, wire.Server)

/** A whole frame: the length field and the packet. */
const framed = (payload: Uint8Array) => {
  const parts = SoupBinTcp.framer.frame(payload)
  if (parts instanceof Framer.FrameError) throw new Error(parts.message)
  return Uint8Array.from(parts.flatMap((p) => [...p]))
}
const encode = <A>(codec: Codec.Codec<A, unknown>, value: A) => {
  const b = Codec.encode(codec, value)
  if (b instanceof Codec.CodecError) throw new Error(b.message)
  return b
}

describe("SoupBinTCP wire", () => {
  it("Login Request, byte for byte", () => {
    const login = {
      _tag: "LoginRequest" as const,
      username: "ABC",
      password: "SECRET",
      requestedSession: "",
      requestedSequenceNumber: 1,
      heartbeatTimeoutMs: 15000
    }
    const expected = bytes(
      [0x00, 0x34], // 52: the type byte and 51 bytes of fields
      "L",
      "ABC   ", // username, 6 alpha, left-justified, space-padded
      "SECRET    ", // password, 10
      "          ", // requested session, 10: blank = the current session
      "                   1", // requested sequence number, 20 numeric, right-justified, space-padded
      "15000" // heartbeat timeout, 5 numeric
    )
    assert.strictEqual(expected.length, 54)
    assert.strictEqual(hex(framed(encode(client, login))), hex(expected))
    assert.deepStrictEqual(client.decode(expected.subarray(2)), login)
  })

  it("Login Accepted, Login Rejected, heartbeats, End of Session, Logout", () => {
    assert.strictEqual(
      hex(framed(encode(server, { _tag: "LoginAccepted", session: "SESSION1", sequenceNumber: 42 }))),
      hex(bytes([0x00, 0x1f], "A", "SESSION1  ", "                  42"))
    )
    assert.strictEqual(hex(framed(encode(server, { _tag: "LoginRejected", reason: "S" }))), hex(bytes([0x00, 0x02], "JS")))
    assert.strictEqual(hex(framed(encode(server, { _tag: "ServerHeartbeat" }))), "000148")
    assert.strictEqual(hex(framed(encode(server, { _tag: "EndOfSession" }))), "00015a")
    assert.strictEqual(hex(framed(encode(client, { _tag: "ClientHeartbeat" }))), "000152")
    assert.strictEqual(hex(framed(encode(client, { _tag: "LogoutRequest" }))), "00014f")
    assert.strictEqual(hex(framed(encode(client, { _tag: "Debug", text: new Uint8Array(ascii("hi")) }))), "00032b6869")
  })

  it("Sequenced Data carries an OUCH message after its type byte", () => {
    const accepted: Ouch.Outbound = {
      _tag: "OrderAccepted",
      timestamp: 34_200_000_000_000, // 09:30 in ns since midnight
      userRefNum: 7,
      side: "B",
      quantity: 100,
      symbol: "AAPL",
      price: 1_890_500,
      timeInForce: "0",
      orderReferenceNumber: 123456789,
      clOrdId: "ORD7",
      orderState: "L"
    }
    const frame = framed(encode(server, { _tag: "SequencedData", payload: accepted }))
    const u64 = (n: number) => [0, 0, Math.floor(n / 2 ** 40) % 256, Math.floor(n / 2 ** 32) % 256, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
    assert.strictEqual(
      hex(frame),
      hex(bytes(
        [0x00, 0x3b], // 59 = 1 (S) + 58 (A: 1 + 8 + 4 + 1 + 4 + 8 + 8 + 1 + 8 + 14 + 1)
        "S",
        "A",
        u64(34_200_000_000_000),
        [0, 0, 0, 7],
        "B",
        [0, 0, 0, 100],
        "AAPL    ",
        u64(1_890_500),
        "0",
        u64(123456789),
        "ORD7          ",
        "L"
      ))
    )
    assert.deepStrictEqual(server.decode(frame.subarray(2)), { _tag: "SequencedData", payload: accepted })
  })

  it.prop("every client and server packet round trips", {
    c: Arbitrary.schema(wire.Client.schema),
    s: Arbitrary.schema(wire.Server.schema)
  }, ({ c, s }) => {
    const plain = (u: unknown): unknown =>
      u instanceof Uint8Array ? Array.from(u) : typeof u === "object" && u !== null ? Object.fromEntries(Object.entries(u).map(([k, v]) => [k, plain(v)])) : u
    assert.deepStrictEqual(plain(client.decode(encode(client, c))), plain(c))
    assert.deepStrictEqual(plain(server.decode(encode(server, s))), plain(s))
  }, { arbitrary: { runs: 300, seed: 41 } })

  it("a malformed Login Request is a typed decode error naming the field", () => {
    const bad = bytes("L", "ABC   ", "SECRET    ", "          ", "                  1x", "15000")
    const e = client.decode(bad)
    assert.instanceOf(e, Codec.CodecError)
    assert.include(e.detail, "LoginRequest.requestedSequenceNumber")
    assert.include((client.decode(bytes("L", "ABC")) as Codec.CodecError).detail, "4 bytes for a layout of 52")
  })
})
