/**
 * Port of mio's tests/interest.rs, plus `remove`, the validity guard and the
 * epoll bits each interest registers (mio's src/sys/unix/selector/epoll.rs
 * `interests_to_epoll`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Interest from "../../src/poll/Interest.ts"
import * as C from "../../src/sys/constants.ts"

describe("interest (mio tests/interest.rs)", () => {
  // mio: interest.rs is_tests
  it("is_tests: predicates", () => {
    assert.isTrue(Interest.isReadable(Interest.READABLE))
    assert.isFalse(Interest.isWritable(Interest.READABLE))
    assert.isFalse(Interest.isPriority(Interest.READABLE))
    assert.isFalse(Interest.isReadable(Interest.WRITABLE))
    assert.isTrue(Interest.isWritable(Interest.WRITABLE))
    assert.isTrue(Interest.isPriority(Interest.PRIORITY))
    assert.isFalse(Interest.isReadable(Interest.PRIORITY))
  })

  // mio: interest.rs bit_or
  it("bit_or: the union has both", () => {
    const both = Interest.add(Interest.READABLE, Interest.WRITABLE)
    assert.isTrue(Interest.isReadable(both))
    assert.isTrue(Interest.isWritable(both))
    assert.strictEqual(Interest.add(both, Interest.READABLE), both, "idempotent")
  })

  // mio: interest.rs fmt_debug
  it("fmt_debug: READABLE, WRITABLE, READABLE | WRITABLE", () => {
    assert.strictEqual(Interest.format(Interest.READABLE), "READABLE")
    assert.strictEqual(Interest.format(Interest.WRITABLE), "WRITABLE")
    assert.strictEqual(Interest.format(Interest.add(Interest.READABLE, Interest.WRITABLE)), "READABLE | WRITABLE")
    assert.strictEqual(Interest.format(Interest.PRIORITY), "PRIORITY")
  })

  // mio: interest.rs add (a const fn there)
  it("add", () => {
    const interest = Interest.add(Interest.READABLE, Interest.WRITABLE)
    assert.isTrue(Interest.isReadable(interest))
    assert.isTrue(Interest.isWritable(interest))
  })

  it("remove: what is left, or undefined when nothing would be (no empty Interest)", () => {
    const both = Interest.add(Interest.READABLE, Interest.WRITABLE)
    assert.strictEqual(Interest.remove(both, Interest.WRITABLE), Interest.READABLE)
    assert.strictEqual(Interest.remove(both, Interest.READABLE), Interest.WRITABLE)
    assert.isUndefined(Interest.remove(Interest.READABLE, Interest.READABLE))
    assert.isUndefined(Interest.remove(both, both))
    assert.strictEqual(Interest.remove(Interest.READABLE, Interest.WRITABLE), Interest.READABLE)
  })

  it("isInterest: only non-empty combinations of known bits", () => {
    assert.isTrue(Interest.isInterest(Interest.READABLE))
    assert.isTrue(Interest.isInterest(Interest.add(Interest.PRIORITY, Interest.WRITABLE)))
    assert.isFalse(Interest.isInterest(0))
    assert.isFalse(Interest.isInterest(0b100)) // mio's AIO bit: not on Linux
    assert.isFalse(Interest.isInterest(1.5))
    assert.isFalse(Interest.isInterest("1"))
  })

  it("registers READABLE as EPOLLIN|EPOLLRDHUP, WRITABLE as EPOLLOUT, PRIORITY as EPOLLPRI", () => {
    assert.strictEqual(Interest.toEpoll(Interest.READABLE), C.EPOLLIN | C.EPOLLRDHUP)
    assert.strictEqual(Interest.toEpoll(Interest.WRITABLE), C.EPOLLOUT)
    assert.strictEqual(Interest.toEpoll(Interest.PRIORITY), C.EPOLLPRI)
    assert.strictEqual(
      Interest.toEpoll(Interest.add(Interest.add(Interest.READABLE, Interest.WRITABLE), Interest.PRIORITY)),
      C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLOUT | C.EPOLLPRI
    )
  })
})
