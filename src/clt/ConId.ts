/**
 * Connection ids in links' form: the side that dialed is the `Initiator`
 * (`Initiator(name@local->peer)`), the side that accepted the `Acceptor`
 * (`Acceptor(name@local<-peer)`); an address that is not known (a socket
 * supplied by the caller, an in-memory transport) prints as `pending`, as in
 * links. Ids compare by identity: every connection has its own, even when two
 * print alike.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/ConId"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

let serials = 0

/**
 * @since 0.2.0
 * @category models
 */
export class ConId {
  readonly [TypeId]: TypeId = TypeId
  /** `Initiator` for the side that connected, `Acceptor` for the side that accepted. */
  readonly _tag: "Initiator" | "Acceptor"
  /** The name given to the `Clt` or `Svc`. */
  readonly name: string
  readonly local: string | undefined
  readonly peer: string | undefined
  /** A number unique within the process, in order of creation. */
  readonly serial: number

  constructor(tag: "Initiator" | "Acceptor", name: string, local: string | undefined, peer: string | undefined) {
    this._tag = tag
    this.name = name
    this.local = local
    this.peer = peer
    this.serial = ++serials
  }

  /** links' display form. */
  toString(): string {
    const local = this.local ?? "pending"
    const peer = this.peer ?? "pending"
    return this._tag === "Initiator" ? `Initiator(${this.name}@${local}->${peer})` : `Acceptor(${this.name}@${local}<-${peer})`
  }

  toJSON(): string {
    return this.toString()
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString()
  }
}

/**
 * @since 0.2.0
 * @category guards
 */
export const isConId = (u: unknown): u is ConId => u instanceof ConId

/**
 * The id of a connection this side dialed.
 *
 * @since 0.2.0
 * @category constructors
 */
export const initiator = (name: string, local?: string, peer?: string): ConId => new ConId("Initiator", name, local, peer)

/**
 * The id of a connection this side accepted.
 *
 * @since 0.2.0
 * @category constructors
 */
export const acceptor = (name: string, local?: string, peer?: string): ConId => new ConId("Acceptor", name, local, peer)
