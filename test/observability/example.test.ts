/**
 * examples/observability.ts runs and its figures are the exchanges' own: a TCP
 * echo, a UDP exchange and a DCCP connection on loopback, counted exactly in
 * a registry of the example's own, with the spans of each lifecycle event.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { observe, valueOf } from "../../examples/observability.ts"
import { checkFdLeaks } from "../util/fds.ts"

describe("examples/observability.ts", () => {
  checkFdLeaks()

  it.live("counts every byte, datagram and connection of its exchanges, and traces their lifecycles", () =>
    Effect.gen(function*() {
      const { atEnd, prometheus, spans, whileOpen } = yield* observe
      const v = (id: string, attributes: Record<string, string>) => valueOf(atEnd, `effect_mio_${id}`, attributes)

      // TCP: 3 round trips of 5 bytes; each side received 15 and sent 15.
      assert.strictEqual(v("bytes_total", { transport: "tcp", direction: "recv" }), 30)
      assert.strictEqual(v("bytes_total", { transport: "tcp", direction: "sent" }), 30)
      assert.strictEqual(v("connections_total", { transport: "tcp", side: "connect" }), 1)
      assert.strictEqual(v("connections_total", { transport: "tcp", side: "accept" }), 1)
      assert.strictEqual(v("connections_open", { transport: "tcp", side: "connect" }), 0)
      assert.strictEqual(v("connections_open", { transport: "tcp", side: "accept" }), 0)

      // UDP: 4 datagrams of 100 bytes each way, between two sockets.
      assert.strictEqual(v("datagrams_total", { transport: "udp", direction: "sent" }), 8)
      assert.strictEqual(v("datagrams_total", { transport: "udp", direction: "recv" }), 8)
      assert.strictEqual(v("bytes_total", { transport: "udp", direction: "sent" }), 800)
      assert.strictEqual(v("bytes_total", { transport: "udp", direction: "recv" }), 800)
      assert.strictEqual(v("sockets_open", { transport: "udp" }), 0)
      assert.strictEqual(v("drops_total", { transport: "udp", reason: "oversize" }), 0)

      // DCCP: 3 datagrams of 200 bytes echoed; packets include the handshake and acknowledgements.
      assert.strictEqual(v("connections_total", { transport: "dccp", side: "connect" }), 1)
      assert.strictEqual(v("connections_total", { transport: "dccp", side: "accept" }), 1)
      assert.strictEqual(v("bytes_total", { transport: "dccp", direction: "sent" }), 1200)
      assert.strictEqual(v("bytes_total", { transport: "dccp", direction: "recv" }), 1200)
      assert.isAtLeast(v("datagrams_total", { transport: "dccp", direction: "sent" }), 6)
      assert.isAtLeast(v("datagrams_total", { transport: "dccp", direction: "recv" }), 6)

      // The connection's gauges existed while it was open, and went with it.
      for (const side of ["connect", "accept"]) {
        assert.isAbove(valueOf(whileOpen, "effect_mio_dccp_rtt_seconds", { side }), 0, side)
        assert.isAtLeast(valueOf(whileOpen, "effect_mio_dccp_cwnd_packets", { side }), 1, side)
      }
      assert.isFalse(atEnd.some((s) => s.id === "effect_mio_dccp_rtt_seconds" || s.id === "effect_mio_dccp_cwnd_packets"))

      // The reactor did the waiting.
      assert.isAbove(v("reactor_polls_total", { strategy: "park" }), 0)
      assert.isAbove(v("reactor_wakeups_total", { strategy: "park" }), 0)
      assert.isAbove(v("reactor_events_total", { strategy: "park" }), 0)

      assert.include(prometheus, `effect_mio_bytes_total{transport="tcp",direction="recv"} 30`)
      assert.include(prometheus, "# TYPE effect_mio_connections_open gauge")

      const names = spans.map((s) => s.name).sort()
      assert.deepStrictEqual(names, [
        "Dccp.accept",
        "Dccp.close",
        "Dccp.connect",
        "Dccp.handshake",
        "Dccp.listen",
        "Tcp.accept",
        "Tcp.connect",
        "Tcp.listen",
        "Udp.bind",
        "Udp.bind"
      ])
      const accept = spans.find((s) => s.name === "Tcp.accept")!
      assert.strictEqual(accept.kind, "server")
      assert.strictEqual(accept.attributes["network.peer.address"], "127.0.0.1")
      const listen = spans.find((s) => s.name === "Tcp.listen")!
      assert.strictEqual(accept.attributes["network.local.port"], listen.attributes["server.port"])
      assert.strictEqual(spans.find((s) => s.name === "Dccp.handshake")!.parent, "Dccp.connect")
      assert.isTrue(spans.every((s) => s.millis !== undefined), "every span ended")
    }), 30_000)
})
