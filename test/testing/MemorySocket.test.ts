import { Effect } from "effect"
import * as NetAddress from "effect/net/NetAddress"
import * as MemorySocket from "../../src/testing/MemorySocket.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { runSocketConformance } from "../conformance/socket.ts"

runSocketConformance(
  "MemorySocket (ideal, two hosts)",
  Effect.map(SimNet.make(), (net) => ({
    listen: MemorySocket.listen({ host: "server" }).pipe(Effect.provideService(SimNet.SimNet, net)),
    connect: (address) =>
      MemorySocket.make({ to: address as NetAddress.InetAddress, host: "client" }).pipe(
        Effect.provideService(SimNet.SimNet, net)
      ),
    refused: Effect.succeed(NetAddress.inetAddressFromIpStringUnsafe("10.0.0.1", 9))
  }))
)
