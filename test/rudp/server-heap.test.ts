import { assert, describe, it } from "@effect/vitest"
import { DeadlineHeap, type HeapItem } from "../../src/rudp/internal/DeadlineHeap.ts"
import * as Prng from "../../src/testing/Prng.ts"

class Item implements HeapItem {
  heapIndex = -1
  deadline = 0
}

describe("DeadlineHeap (the server's one timer structure)", () => {
  it("pops due items in deadline order while items are added, moved and removed at random (seeded)", () => {
    const rng = Prng.make(11)
    const heap = new DeadlineHeap<Item>()
    const items = Array.from({ length: 200 }, () => new Item())
    /** The reference: each item's deadline, or undefined when it is out. */
    const model = new Map<Item, number>()
    let now = 0
    for (let step = 0; step < 20_000; step++) {
      const item = items[rng.int(items.length)]!
      const op = rng.int(10)
      if (op < 6) {
        const at = now + rng.int(1000)
        heap.set(item, at)
        model.set(item, at)
      } else if (op < 7) {
        heap.set(item, undefined)
        model.delete(item)
      } else if (op < 8) {
        heap.remove(item)
        model.delete(item)
      } else {
        now += rng.int(50)
        const due = [...model].filter(([, at]) => at <= now).map(([, at]) => at).sort((a, b) => a - b)
        if (step % 2 === 0) {
          const popped: Array<number> = []
          for (let p = heap.popDue(now); p !== undefined; p = heap.popDue(now)) {
            popped.push(p.deadline)
            assert.strictEqual(p.heapIndex, -1)
            assert.strictEqual(model.get(p), p.deadline)
            model.delete(p)
          }
          assert.deepStrictEqual(popped, due)
        } else {
          // collectDue leaves them in; re-arm each later (as the server does) or take it out.
          const collected: Array<Item> = []
          heap.collectDue(now, collected)
          assert.deepStrictEqual(collected.map((p) => p.deadline).sort((a, b) => a - b), due)
          for (const p of collected) {
            assert.isAtLeast(p.heapIndex, 0)
            if (rng.int(2) === 0) {
              const at = now + 1 + rng.int(1000)
              heap.set(p, at)
              model.set(p, at)
            } else {
              heap.set(p, undefined)
              model.delete(p)
            }
          }
        }
      }
      assert.strictEqual(heap.size, model.size)
      const min = model.size === 0 ? undefined : Math.min(...model.values())
      assert.strictEqual(heap.next(), min)
    }
  })
})
