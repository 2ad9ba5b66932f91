/**
 * Messages, codec and framer of the Clt/Svc tests, and what a transport gives
 * the shared bodies (test/clt/bodies.ts).
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as Clt from "../../src/clt/Clt.ts"
import type * as MessagingError from "../../src/clt/MessagingError.ts"
import * as Binary from "../../src/framing/Binary.ts"
import * as Codec from "../../src/framing/Codec.ts"
import * as Framer from "../../src/framing/Framer.ts"
import type * as Svc from "../../src/svc/Svc.ts"

export const Ping = Binary.tagged("Ping", "P", { n: Binary.u32(), text: Binary.ascii(8) })
export const Pong = Binary.tagged("Pong", "Q", { n: Binary.u32() })
export const Beat = Binary.tagged("Beat", "H", {})
export const Bye = Binary.tagged("Bye", "Z", {})
export const Blob = Binary.tagged("Blob", "B", { data: Binary.rest })
export const Message = Binary.union([Ping, Pong, Beat, Bye, Blob], "Message")
export type Message = Binary.Type<typeof Message>

export const codec = Codec.binary(Message.schema, Message)

/** The same messages, but Ping goes out with type byte '?': what a peer with another version sends. */
const ForeignPing = Binary.tagged("Ping", "?", { n: Binary.u32(), text: Binary.ascii(8) })
const Foreign = Binary.union([ForeignPing, Pong, Beat, Bye, Blob], "Foreign")
export const foreignCodec: Codec.Codec<Message, Message> = Codec.binary(Foreign.schema, Foreign)
export const framer = Framer.lengthPrefixed({ width: 2, maxFrame: 4096 })

/** A transport under test: how to bind a service and connect to it, and how time passes. */
export interface Target {
  readonly bind: (options?: Partial<Svc.CommonOptions<Message, Message>>) => Effect.Effect<Svc.Svc<Message, Message>, MessagingError.MessagingError, Scope.Scope>
  readonly connect: (
    svc: Svc.Svc<Message, Message>,
    options?: Partial<Clt.CommonOptions<Message, Message>>
  ) => Effect.Effect<Clt.Clt<Message, Message>, MessagingError.MessagingError, Scope.Scope>
  /** A raw client socket to the service (to misbehave). */
  readonly rawSocket: (svc: Svc.Svc<Message, Message>) => Effect.Effect<Socket.Socket, never, Scope.Scope>
  /** A server that accepts one connection, reads, and resets it; the address to connect a Clt to. */
  readonly resettingServer: Effect.Effect<(options?: Partial<Clt.CommonOptions<Message, Message>>) => Effect.Effect<Clt.Clt<Message, Message>, MessagingError.MessagingError, Scope.Scope>, never, Scope.Scope>
  /** Lets `ms` milliseconds pass (real or virtual). */
  readonly sleep: (ms: number) => Effect.Effect<void>
}

/** A frame for `payload`, written by hand (u16 big-endian length). */
export const frameOf = (payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(2 + payload.length)
  out[0] = payload.length >> 8
  out[1] = payload.length & 0xff
  out.set(payload, 2)
  return out
}

export const ping = (n: number, text = "ping"): Message => ({ _tag: "Ping", n, text })
