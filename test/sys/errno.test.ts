/**
 * errno names and kinds. Names must be the C library's (what `perror` and
 * `strerrorname_np` print) for every errno effect-mio names in constants.ts,
 * including the ones Node's own table lacks; probe.test.ts checks all of
 * 1..133 against glibc. Kinds follow Rust's `decode_error_kind` on Linux, the
 * vocabulary mio users know.
 */
import { assert, describe, it } from "@effect/vitest"
import * as IoError from "../../src/IoError.ts"
import { Errno } from "../../src/sys/call.ts"
import * as C from "../../src/sys/constants.ts"
import { errnoMessage, errnoName } from "../../src/sys/errno.ts"
import { libc } from "../../src/sys/libc.ts"

const errnoConstants = (Object.entries(C) as Array<[string, number]>).filter(
  ([name]) => /^E[A-Z0-9]+$/.test(name) && !name.startsWith("EPOLL")
)

describe("errno names", () => {
  it("every errno constant has its own name", () => {
    assert.isAtLeast(errnoConstants.length, 40)
    for (const [name, value] of errnoConstants) assert.strictEqual(errnoName(value), name, `errno ${value}`)
  })

  it("Linux errnos Node does not name: ESHUTDOWN, EHOSTDOWN, ESOCKTNOSUPPORT, EPFNOSUPPORT, EBADFD", () => {
    assert.strictEqual(errnoName(108), "ESHUTDOWN")
    assert.strictEqual(errnoName(112), "EHOSTDOWN")
    assert.strictEqual(errnoName(94), "ESOCKTNOSUPPORT")
    assert.strictEqual(errnoName(96), "EPFNOSUPPORT")
    assert.strictEqual(errnoName(77), "EBADFD")
  })

  it("aliases get the canonical name: EAGAIN (not EWOULDBLOCK), EOPNOTSUPP (not ENOTSUP)", () => {
    assert.strictEqual(errnoName(11), "EAGAIN")
    assert.strictEqual(errnoName(95), "EOPNOTSUPP")
    assert.strictEqual(errnoName(35), "EDEADLK")
  })

  it("an unknown number is E<n>", () => {
    assert.strictEqual(errnoName(9999), "E9999")
    assert.strictEqual(errnoName(0), "E0")
  })

  it("messages are the C library's strerror", () => {
    assert.strictEqual(errnoMessage(C.ECONNREFUSED, libc().strerror), "Connection refused")
    assert.strictEqual(errnoMessage(C.ESHUTDOWN, libc().strerror), "Cannot send after transport endpoint shutdown")
  })

  it("an IoError from a syscall carries errno, code, kind and the text", () => {
    const e = IoError.fromErrno(new Errno(C.ESHUTDOWN, "send"), "127.0.0.1:80")
    assert.strictEqual(e.errno, C.ESHUTDOWN)
    assert.strictEqual(e.code, "ESHUTDOWN")
    assert.strictEqual(e.kind, "BrokenPipe")
    assert.strictEqual(e.message, "send ESHUTDOWN 127.0.0.1:80 (Cannot send after transport endpoint shutdown)")
    const p = IoError.make("InvalidInput", "bind", "port 70000 is out of range 0..65535", "x")
    assert.isUndefined(p.code)
    assert.strictEqual(p.message, "bind: port 70000 is out of range 0..65535 [x]")
    assert.isTrue(IoError.IoError.is(p))
    assert.strictEqual(IoError.closed("recv").kind, "Closed")
    assert.strictEqual(IoError.fromFailure(Symbol.for("effect-mio/WouldBlock") as never, "connect").code, "EAGAIN")
  })
})

describe("errno kinds (Rust's decode_error_kind on Linux)", () => {
  it("the kinds Rust names", () => {
    const rust: ReadonlyArray<readonly [number, IoError.IoErrorKind]> = [
      [C.EADDRINUSE, "AddressInUse"],
      [C.EADDRNOTAVAIL, "AddressNotAvailable"],
      [C.EBUSY, "ResourceBusy"],
      [C.ECONNABORTED, "ConnectionAborted"],
      [C.ECONNREFUSED, "ConnectionRefused"],
      [C.ECONNRESET, "ConnectionReset"],
      [C.EEXIST, "AlreadyExists"],
      [C.EHOSTUNREACH, "HostUnreachable"],
      [C.EINTR, "Interrupted"],
      [C.EINVAL, "InvalidInput"],
      [C.ENOENT, "NotFound"],
      [C.ENOMEM, "OutOfMemory"],
      [C.ENOSYS, "Unsupported"],
      [C.ENETDOWN, "NetworkDown"],
      [C.ENETUNREACH, "NetworkUnreachable"],
      [C.ENOTCONN, "NotConnected"],
      [C.EPIPE, "BrokenPipe"],
      [C.ETIMEDOUT, "TimedOut"],
      [C.EINPROGRESS, "InProgress"],
      [C.EACCES, "PermissionDenied"],
      [C.EPERM, "PermissionDenied"]
    ]
    for (const [errno, kind] of rust) assert.strictEqual(IoError.kindOfErrno(errno), kind, errnoName(errno))
  })

  it("effect-mio's additions: EBADF is Closed, EMFILE TooManyOpenFiles, EMSGSIZE MessageTooLarge, others Other", () => {
    assert.strictEqual(IoError.kindOfErrno(C.EBADF), "Closed")
    assert.strictEqual(IoError.kindOfErrno(C.EMFILE), "TooManyOpenFiles")
    assert.strictEqual(IoError.kindOfErrno(C.ENFILE), "TooManyOpenFiles")
    assert.strictEqual(IoError.kindOfErrno(C.EMSGSIZE), "MessageTooLarge")
    assert.strictEqual(IoError.kindOfErrno(C.EDESTADDRREQ), "NotConnected")
    assert.strictEqual(IoError.kindOfErrno(C.EISCONN), "AlreadyConnected")
    assert.strictEqual(IoError.kindOfErrno(C.EOPNOTSUPP), "Unsupported")
    assert.strictEqual(IoError.kindOfErrno(C.EIO), "Other")
    assert.strictEqual(IoError.kindOfErrno(9999), "Other")
  })
})
