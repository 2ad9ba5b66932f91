/**
 * Struct layouts for the architectures effect-mio supports (Linux x86-64 and
 * arm64, both little-endian, LP64). Only `epoll_event` differs between them:
 * glibc packs it on x86-64 (12 bytes, `data` at offset 4) and aligns it
 * naturally on arm64 (16 bytes, `data` at offset 8). `native/probe.c` prints
 * every value here from the system headers and a test compares them.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */

/** @internal */
export interface Layout {
  readonly arch: "x64" | "arm64"
  readonly epollEvent: { readonly size: number; readonly events: number; readonly data: number }
  readonly sockaddrIn: { readonly size: number; readonly family: number; readonly port: number; readonly addr: number }
  readonly sockaddrIn6: {
    readonly size: number
    readonly family: number
    readonly port: number
    readonly flowinfo: number
    readonly addr: number
    readonly scopeId: number
  }
  readonly sockaddrUn: { readonly size: number; readonly family: number; readonly path: number; readonly pathMax: number }
  readonly sockaddrStorage: number
  readonly iovec: { readonly size: number; readonly base: number; readonly len: number }
  readonly msghdr: {
    readonly size: number
    readonly name: number
    readonly namelen: number
    readonly iov: number
    readonly iovlen: number
    readonly control: number
    readonly controllen: number
    readonly flags: number
  }
  readonly mmsghdr: { readonly size: number; readonly len: number }
  readonly cmsghdr: { readonly size: number; readonly len: number; readonly level: number; readonly type: number }
  readonly itimerspec: { readonly size: number; readonly interval: number; readonly value: number }
  readonly timespec: { readonly size: number; readonly sec: number; readonly nsec: number }
  readonly signalfdSiginfo: { readonly size: number; readonly signo: number; readonly code: number; readonly pid: number; readonly uid: number }
  readonly sigset: number
  readonly linger: { readonly size: number; readonly onoff: number; readonly linger: number }
  readonly ipMreqn: { readonly size: number; readonly multiaddr: number; readonly address: number; readonly ifindex: number }
  readonly ipv6Mreq: { readonly size: number; readonly multiaddr: number; readonly ifindex: number }
}

const lp64 = (arch: "x64" | "arm64", epollEvent: Layout["epollEvent"]): Layout => ({
  arch,
  epollEvent,
  sockaddrIn: { size: 16, family: 0, port: 2, addr: 4 },
  sockaddrIn6: { size: 28, family: 0, port: 2, flowinfo: 4, addr: 8, scopeId: 24 },
  sockaddrUn: { size: 110, family: 0, path: 2, pathMax: 108 },
  sockaddrStorage: 128,
  iovec: { size: 16, base: 0, len: 8 },
  msghdr: { size: 56, name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 },
  mmsghdr: { size: 64, len: 56 },
  cmsghdr: { size: 16, len: 0, level: 8, type: 12 },
  itimerspec: { size: 32, interval: 0, value: 16 },
  timespec: { size: 16, sec: 0, nsec: 8 },
  signalfdSiginfo: { size: 128, signo: 0, code: 8, pid: 12, uid: 16 },
  sigset: 128,
  linger: { size: 8, onoff: 0, linger: 4 },
  ipMreqn: { size: 12, multiaddr: 0, address: 4, ifindex: 8 },
  ipv6Mreq: { size: 20, multiaddr: 0, ifindex: 16 }
})

/** @internal */
export const layouts: Readonly<Record<"x64" | "arm64", Layout>> = {
  x64: lp64("x64", { size: 12, events: 0, data: 4 }),
  arm64: lp64("arm64", { size: 16, events: 0, data: 8 })
}

/** @internal */
export const isSupportedArch = (arch: string): arch is "x64" | "arm64" => arch === "x64" || arch === "arm64"

/**
 * The layout of the running process. Other architectures are refused at
 * binding time (see `libc.ts`), so this falls back to x64 only for pure code
 * (codecs, tests) that never reaches the kernel.
 *
 * @internal
 */
export const layout: Layout = isSupportedArch(process.arch) ? layouts[process.arch] : layouts.x64

/** `CMSG_ALIGN` for LP64. @internal */
export const cmsgAlign = (n: number): number => (n + 7) & ~7

/** `CMSG_SPACE(n)`. @internal */
export const cmsgSpace = (n: number): number => layout.cmsghdr.size + cmsgAlign(n)

/** `CMSG_LEN(n)`. @internal */
export const cmsgLen = (n: number): number => layout.cmsghdr.size + n
