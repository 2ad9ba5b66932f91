/**
 * An order-entry payload in the style of Nasdaq OUCH 5.0, a subset: what a
 * client sends (enter, replace, cancel) and what the exchange answers (system
 * events, accepted, replaced, canceled, executed, rejected), each a fixed
 * binary record selected by its first byte. These ride inside SoupBinTCP's
 * Unsequenced Data (client → server) and Sequenced Data (server → client)
 * packets.
 *
 * Conventions kept from OUCH: big-endian integers; prices are integers with
 * four implied decimals (`1_890_500` is 189.0500); timestamps are nanoseconds
 * since midnight; alpha fields are left-justified and space-padded.
 */
import { Binary } from "effect-mio"

const price = Binary.u64({ as: "number" })
const timestamp = Binary.u64({ as: "number" })
const side = Binary.char(["B", "S", "T", "E"]) // buy, sell, sell short, sell short exempt
const timeInForce = Binary.char(["0", "3"]) // day, immediate or cancel

// --- inbound: client → exchange ------------------------------------------------------------

/** @category inbound */
export const EnterOrder = Binary.tagged("EnterOrder", "O", {
  userRefNum: Binary.u32(),
  side,
  quantity: Binary.u32(),
  symbol: Binary.ascii(8),
  price,
  timeInForce,
  display: Binary.char(["Y", "N"]),
  capacity: Binary.char(["A", "P", "R"]),
  clOrdId: Binary.ascii(14)
})

/** @category inbound */
export const ReplaceOrder = Binary.tagged("ReplaceOrder", "U", {
  origUserRefNum: Binary.u32(),
  userRefNum: Binary.u32(),
  quantity: Binary.u32(),
  price,
  clOrdId: Binary.ascii(14)
})

/** `quantity` is what should remain: 0 cancels the whole order. @category inbound */
export const CancelOrder = Binary.tagged("CancelOrder", "X", {
  userRefNum: Binary.u32(),
  quantity: Binary.u32()
})

/** @category inbound */
export const Inbound = Binary.union([EnterOrder, ReplaceOrder, CancelOrder], "OUCH inbound")
export type Inbound = Binary.Type<typeof Inbound>

// --- outbound: exchange → client -------------------------------------------------------------

/** `S` start of day, `E` end of day. @category outbound */
export const SystemEvent = Binary.tagged("SystemEvent", "S", {
  timestamp,
  eventCode: Binary.char(["S", "E"])
})

/** @category outbound */
export const OrderAccepted = Binary.tagged("OrderAccepted", "A", {
  timestamp,
  userRefNum: Binary.u32(),
  side,
  quantity: Binary.u32(),
  symbol: Binary.ascii(8),
  price,
  timeInForce,
  orderReferenceNumber: Binary.u64({ as: "number" }),
  clOrdId: Binary.ascii(14),
  orderState: Binary.char(["L", "D"]) // live, dead
})

/** @category outbound */
export const OrderReplaced = Binary.tagged("OrderReplaced", "U", {
  timestamp,
  origUserRefNum: Binary.u32(),
  userRefNum: Binary.u32(),
  quantity: Binary.u32(),
  price,
  orderReferenceNumber: Binary.u64({ as: "number" }),
  clOrdId: Binary.ascii(14)
})

/** Reasons: `U` user requested, `I` immediate or cancel, `T` timeout, `S` supervisory. @category outbound */
export const OrderCanceled = Binary.tagged("OrderCanceled", "C", {
  timestamp,
  userRefNum: Binary.u32(),
  quantity: Binary.u32(),
  reason: Binary.char(["U", "I", "T", "S"])
})

/** @category outbound */
export const OrderExecuted = Binary.tagged("OrderExecuted", "E", {
  timestamp,
  userRefNum: Binary.u32(),
  quantity: Binary.u32(),
  price,
  liquidityFlag: Binary.char(["A", "R"]), // added, removed
  matchNumber: Binary.u64({ as: "number" })
})

/** Reasons: `Y` no shares found, `S` invalid side, `X` invalid price, `Z` quantity over the limit. @category outbound */
export const OrderRejected = Binary.tagged("OrderRejected", "J", {
  timestamp,
  userRefNum: Binary.u32(),
  reason: Binary.char(["Y", "S", "X", "Z"]),
  clOrdId: Binary.ascii(14)
})

/** @category outbound */
export const Outbound = Binary.union([SystemEvent, OrderAccepted, OrderReplaced, OrderCanceled, OrderExecuted, OrderRejected], "OUCH outbound")
export type Outbound = Binary.Type<typeof Outbound>
