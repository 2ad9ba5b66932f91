import { Effect } from "effect"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { runDatagramConformance } from "../conformance/datagram.ts"

runDatagramConformance(
  "MemoryDatagram (ideal, one host)",
  Effect.map(SimNet.make(), (net) => ({
    make: (options) => MemoryDatagram.make(options ?? {}).pipe(Effect.provideService(SimNet.SimNet, net))
  }))
)
