/**
 * Addresses as Effect users write them (issue 14): every form reaches a real
 * socket on loopback — strings with IP literals or host names, Effect's
 * `NetAddress` values, `InetAddressInput` parts (`{ address, port }`),
 * `{ host, port }`, `Host.HostPort`, `{ path }` — and host names are resolved
 * through Effect's `AddressResolver` (the one provided, or ours on `node:dns`),
 * their addresses tried in order. Synchronous calls refuse host names with a
 * typed error naming the input.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as AddressResolver from "effect/net/AddressResolver"
import * as Dns from "effect/net/Dns"
import * as Host from "effect/net/Host"
import * as NetAddress from "effect/net/NetAddress"
import * as Result from "effect/Result"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import * as Socket from "effect/socket/Socket"
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Dccp from "../../src/dccp/Dccp.ts"
import { IoError } from "../../src/IoError.ts"
import * as Resolver from "../../src/net/Resolver.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as UnixListener from "../../src/net/UnixListener.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { checkFdLeaks, openFds } from "../util/fds.ts"

const decoder = new TextDecoder()

/** A static resolver for names this test invents, counting its lookups. */
const staticResolver = (hosts: Record<string, ReadonlyArray<string>>) => {
  const lookups: Array<string> = []
  const dns = Result.getOrThrow(Dns.makeStatic({ hosts }))
  const counting = Dns.Dns.of({
    ...dns,
    lookup: ((host: Host.DomainNameInput, options?: Dns.LookupOptions) => {
      lookups.push(String(host))
      return dns.lookup(host, options)
    }) as Dns.Dns["Service"]["lookup"]
  })
  const layer = Layer.succeed(AddressResolver.AddressResolver, AddressResolver.make(counting))
  return { lookups, layer }
}

const portOf = (a: unknown): number => (a as NetAddress.InetAddress).port

/** An echo server of ours on 127.0.0.1, forked in the test's Scope. */
const echoServer = Effect.gen(function*() {
  const server = yield* Tcp.listen("127.0.0.1:0")
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const { pull } = yield* socket.reader
      const writer = yield* socket.writer
      while (true) yield* writer.writeAll(yield* pull)
    })).pipe(Effect.ignore)
  ))
  return portOf(server.address)
})

const roundTrip = (socket: Socket.Socket, text: string) =>
  Effect.scoped(Effect.gen(function*() {
    const pull = yield* Socket.readerString(socket)
    const writer = yield* socket.writer
    yield* writer.write(text)
    let got = ""
    while (got.length < text.length) got += (yield* pull).join("")
    return got
  }))

const failure = <E>(exit: Exit.Exit<unknown, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(reason, "expected a typed failure")
  return (reason as { readonly error: E }).error
}

describe("addresses: every form Effect users write", () => {
  checkFdLeaks()

  it.live("the readiness level binds every form, host names included", () =>
    Effect.gen(function*() {
      const forms: ReadonlyArray<SocketAddress.Input> = [
        "127.0.0.1:0",
        "localhost:0",
        { host: "127.0.0.1", port: 0 },
        { host: "localhost", port: 0 },
        { host: NetAddress.ipv4Loopback, port: 0 },
        { address: "127.0.0.1", port: 0 },
        { address: NetAddress.ipv4Loopback, port: 0 },
        { address: [127, 0, 0, 1], port: 0 },
        { address: "::1", port: 0 },
        { host: "[::1]", port: 0 },
        Result.getOrThrow(Host.hostPortFromString("localhost:0")),
        NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, 0)
      ]
      for (const form of forms) {
        const listener = yield* TcpListener.bind(form)
        const local = listener.localAddr() as NetAddress.InetAddress
        assert.isTrue(NetAddress.isLoopback(local.address), JSON.stringify(form))
        assert.isAbove(local.port, 0)
        const stream = yield* TcpStream.connect({ host: "localhost", port: local.port })
        assert.isDefined(stream)
        listener.close()
        stream.close()
      }
      const udp = yield* UdpSocket.bind({ host: "localhost", port: 0 })
      assert.strictEqual(SocketAddress.format(udp.localAddr() as SocketAddress.SocketAddress).startsWith("127.0.0.1:"), true)
      const dir = mkdtempSync(join(tmpdir(), "mio-addr-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const unix = yield* UnixListener.bind({ path: join(dir, "x.sock") })
      assert.strictEqual((unix.localAddr() as NetAddress.UnixPathAddress).path, join(dir, "x.sock"))
    }).pipe(Effect.scoped))

  it.live("synchronous calls take IP literals and parts, and refuse a host name naming it", () =>
    Effect.gen(function*() {
      const a = yield* UdpSocket.bind("127.0.0.1:0")
      const b = yield* UdpSocket.bind("127.0.0.1:0")
      const port = portOf(b.localAddr())
      assert.strictEqual(a.sendTo(new Uint8Array([1]), { address: "127.0.0.1", port }), 1)
      assert.strictEqual(a.sendTo(new Uint8Array([2]), { host: NetAddress.ipv4Loopback, port }), 1)
      for (const named of [`localhost:${port}`, { host: "localhost", port }, { address: "localhost", port }]) {
        const e = a.sendTo(new Uint8Array([3]), named)
        assert.instanceOf(e, IoError)
        assert.strictEqual((e as IoError).kind, "InvalidInput")
        assert.include((e as IoError).message, "localhost")
        assert.include((e as IoError).message, "no DNS")
        const c = a.connect(named)
        assert.strictEqual(c?.kind, "InvalidInput")
      }
      const unscoped = TcpListener.bindUnscoped({ host: "localhost", port: 0 })
      assert.instanceOf(unscoped, IoError)
      assert.include((unscoped as IoError).message, "localhost")
      assert.instanceOf(SocketAddress.parse("localhost:80"), IoError)
      assert.instanceOf(SocketAddress.classify("localhost:80"), SocketAddress.HostName)
    }).pipe(Effect.scoped))

  it("bad parts are InvalidInput naming the input", () => {
    for (
      const bad of [
        { host: "localhost", port: 70000 },
        { host: "localhost", port: "80" },
        { address: "127.0.0.1", port: -1 },
        { address: "::1", port: 1, scopeId: -1 },
        { host: "bad..name", port: 1 },
        { host: {}, port: 1 },
        { path: 42 },
        { host: "a", address: "b", port: 1 },
        { port: 1 }
      ]
    ) {
      const e = SocketAddress.classify(bad as never, "connect")
      assert.instanceOf(e, IoError, JSON.stringify(bad))
      assert.strictEqual((e as IoError).kind, "InvalidInput")
      assert.include((e as IoError).message, JSON.stringify(bad))
    }
  })

  it.live("Tcp.connect and Tcp.listen take every form; a name is resolved at each dial", () =>
    Effect.gen(function*() {
      const port = yield* echoServer
      const forms: ReadonlyArray<SocketAddress.Input> = [
        `localhost:${port}`,
        { host: "localhost", port },
        { address: "127.0.0.1", port },
        { address: "localhost", port },
        { host: "127.0.0.1", port },
        NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, port)
      ]
      for (const form of forms) assert.strictEqual(yield* roundTrip(yield* Tcp.connect(form), "hi"), "hi", JSON.stringify(form))

      const named = staticResolver({ "echo.test": ["127.0.0.1"] })
      const socket = yield* Tcp.connect(`echo.test:${port}`)
      yield* Effect.gen(function*() {
        assert.strictEqual(yield* roundTrip(socket, "one"), "one")
        assert.strictEqual(yield* roundTrip(socket, "two"), "two")
      }).pipe(Effect.provide(named.layer))
      assert.deepStrictEqual(named.lookups, ["echo.test", "echo.test"])

      const server = yield* Tcp.listen({ host: "localhost", port: 0 })
      assert.strictEqual(NetAddress.formatHost(server.address as NetAddress.InetAddress), "127.0.0.1")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a name's addresses are tried in order; a refused one leaves no fd behind", () =>
    Effect.gen(function*() {
      const port = yield* echoServer
      // 127.0.0.2 is local but nothing listens there: refused, then 127.0.0.1 answers.
      const named = staticResolver({ "multi.test": ["127.0.0.2", "127.0.0.1"], "single.test": ["127.0.0.1"] })
      const fdsWhileConnected = (name: string) =>
        Effect.scoped(Effect.gen(function*() {
          const socket = yield* Tcp.connect(`${name}:${port}`)
          const { pull } = yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.write("x")
          yield* pull
          return openFds().size
        })).pipe(Effect.provide(named.layer))
      const single = yield* fdsWhileConnected("single.test")
      const multi = yield* fdsWhileConnected("multi.test")
      assert.strictEqual(multi, single)

      // None works: the last failure, with the address it was for.
      const none = staticResolver({ "none.test": ["127.0.0.2", "127.0.0.3"] })
      const socket = yield* Tcp.connect(`none.test:${port}`)
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader).pipe(Effect.provide(none.layer))))
      assert.strictEqual(e.reason._tag, "SocketOpenError")
      assert.include(e.message, `connect ECONNREFUSED 127.0.0.3:${port}`)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a failed lookup is a typed error naming the host, its DnsError the cause", () =>
    Effect.gen(function*() {
      const named = staticResolver({})
      const socket = yield* Tcp.connect("nowhere.test:80")
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader).pipe(Effect.provide(named.layer))))
      assert.strictEqual(e.reason._tag, "SocketOpenError")
      const cause = (e.reason as Socket.SocketOpenError).cause as IoError
      assert.strictEqual(cause.kind, "NotFound")
      assert.instanceOf(cause.cause, Dns.DnsError)
      assert.include(e.message, "nowhere.test:80")

      const listener = yield* Effect.exit(TcpListener.bind("nowhere.test:0").pipe(Effect.provide(named.layer)))
      assert.strictEqual(failure(listener).kind, "NotFound")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("openTimeout bounds the lookup too", () =>
    Effect.gen(function*() {
      const stuck = Layer.succeed(AddressResolver.AddressResolver, AddressResolver.AddressResolver.of({ resolve: () => Effect.never } as never))
      const socket = yield* Tcp.connect("slow.test:80", { openTimeout: "20 millis" })
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader).pipe(Effect.provide(stuck))))
      assert.strictEqual(e.reason._tag, "SocketOpenError")
      assert.strictEqual((e.reason as Socket.SocketOpenError).kind, "Timeout")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("Udp.make takes host-name peers, NodeDatagramSocket's bind parts and picks the family", () =>
    Effect.gen(function*() {
      const server = yield* Udp.make({ bind: { address: "127.0.0.1", port: 0 } })
      const serverReader = yield* server.reader
      const port = serverReader.address.port
      for (const peer of [`localhost:${port}`, { address: "localhost", port }, { host: "localhost", port }] as const) {
        const client = yield* Udp.make({ peer })
        yield* client.reader
        const writer = yield* client.writer
        yield* writer.write({ payload: "to a name" })
        const [d] = yield* serverReader.pull
        assert.strictEqual(decoder.decode(d!.payload), "to a name")
      }
      const partial = yield* Udp.make({ bind: { port: 0 } })
      assert.strictEqual(NetAddress.formatHost((yield* partial.reader).address), "0.0.0.0")

      const six = yield* Udp.make({ bind: "[::1]:0" })
      const sixPort = (yield* six.reader).address.port
      const toSix = yield* Udp.make({ connect: { address: "::1", port: sixPort } })
      assert.isTrue(NetAddress.isInetAddressV6((yield* toSix.reader).address), "the family follows the remote")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a multicast interface may be Effect's NetAddress value", () =>
    Effect.gen(function*() {
      const udp = yield* UdpSocket.bind("0.0.0.0:0")
      assert.isUndefined(udp.setMulticastInterface(NetAddress.ipv4Loopback))
      const udp6 = yield* UdpSocket.bind("[::1]:0")
      assert.strictEqual(udp6.setMulticastInterface(NetAddress.ipv4Loopback as never)?.kind, "InvalidInput")
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", multicast: { interface: NetAddress.ipv4Loopback, loopback: true, ttl: 1 } })
      yield* socket.reader
      const bad = failure(yield* Effect.exit(Udp.make({ multicast: { interface: NetAddress.ipv6Loopback as never } })))
      assert.instanceOf(bad, DatagramSocket.DatagramSocketError)
      assert.include(bad.message, "multicast.interface")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("Dccp.connect resolves a host name", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: { host: "localhost", port: 0 }, serviceCodes: [7] })
      yield* Effect.forkScoped(server.run((s) => Effect.forever(Effect.flatMap(s.recv, s.send))))
      const client = yield* Dccp.connect({ address: `localhost:${server.port}`, serviceCode: 7 })
      yield* client.send("over a name")
      assert.strictEqual(decoder.decode(yield* client.recv), "over a name")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("the default resolver looks names up on node:dns; Resolver.layer provides it", () =>
    Effect.gen(function*() {
      const viaDefault = yield* Resolver.resolve("localhost:80", "connect")
      const viaLayer = yield* Resolver.resolve("localhost:80", "connect").pipe(Effect.provide(Resolver.layer))
      const system = yield* Effect.promise(() =>
        new Promise<string>((resolve) => {
          const probe = net.connect({ host: "localhost", port: 1 })
          probe.on("lookup", (_e, address) => {
            probe.destroy()
            resolve(address)
          }).on("error", () => {})
        })
      )
      assert.strictEqual(NetAddress.formatHost(viaDefault[0] as NetAddress.InetAddress), system)
      assert.deepStrictEqual(viaLayer.map(SocketAddress.format), viaDefault.map(SocketAddress.format))
    }))
})
