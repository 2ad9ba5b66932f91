/**
 * An endpoint's configuration as the engine takes it: durations in
 * milliseconds, the random source (a pool of `node:crypto` bytes unless the
 * configuration gives one), and a bad value as a typed `InvalidConfig` error.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { randomFillSync } from "node:crypto"
import { type Config as EngineConfig, makeConfig, type RandomSource } from "../engine/Config.ts"
import type { Config } from "../Endpoint.ts"
import { make as rudpError, type RudpError } from "../RudpError.ts"
import * as UdpLike from "../UdpLike.ts"

const cryptoRandom: RandomSource = (() => {
  const pool = new Uint32Array(64)
  let at = pool.length
  return () => {
    if (at === pool.length) {
      randomFillSync(pool)
      at = 0
    }
    return pool[at++]!
  }
})()

const millis = (v: Duration.Input | undefined): number | undefined => v === undefined ? undefined : Duration.toMillis(v)

/** @internal */
export const engineConfig = (config: Config) =>
  Effect.try({
    try: () =>
      makeConfig({
        ...config,
        maxAckDelay: millis(config.maxAckDelay),
        idleTimeout: millis(config.idleTimeout),
        heartbeat: millis(config.heartbeat),
        initialRtt: millis(config.initialRtt),
        closeTimeout: millis(config.closeTimeout),
        fragmentTimeout: millis(config.fragmentTimeout),
        resendScan: millis(config.resendScan),
        random: config.random ?? cryptoRandom
      }),
    catch: (e) => rudpError("InvalidConfig", e instanceof Error ? e.message : String(e))
  })

/**
 * The configuration as the socket allows it: `mtu` must fit what the socket
 * receives whole (else a typed error naming it: the peer would send datagrams
 * this end truncates), and `maxMtu` — what this end announces — comes down to it.
 *
 * @internal
 */
export const fitToSocket = <E>(cfg: EngineConfig, udp: UdpLike.UdpLike<E>): EngineConfig | RudpError => {
  if (!UdpLike.hasFastPath(udp)) return cfg
  const fast = udp[UdpLike.FastPathId]
  const receives = fast.maxDatagram
  if (cfg.mtu > receives) {
    return rudpError("InvalidConfig", `mtu ${cfg.mtu} is larger than the datagrams this socket receives whole (${receives} bytes): raise the UdpLike's maxDatagram or lower mtu`)
  }
  // A connected socket knows its route: with Don't Fragment set (for path MTU
  // probes), a base datagram the route cannot carry would be refused by the
  // kernel on every send, the handshake's first.
  const route = fast.pathLimit()
  if (route !== undefined && cfg.mtu > route) {
    return rudpError("InvalidConfig", `mtu ${cfg.mtu} is larger than the route to the peer carries (${route} bytes of UDP payload): lower mtu (path MTU discovery finds larger sizes by itself, up to maxMtu)`)
  }
  return cfg.maxMtu > receives ? { ...cfg, maxMtu: receives } : cfg
}
