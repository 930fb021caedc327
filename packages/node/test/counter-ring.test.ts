import { describe, expect, test } from 'vitest'
import { COUNTER_RING_MAX_SLOTS, CounterRing } from '../src/counter-ring.ts'

/** Checks the ring against a Map (insertion order = counter order, as counters only grow). */
function same (ring: CounterRing<number>, model: Map<number, number>): void {
  expect(ring.size).toBe(model.size)
  expect([...ring.values()]).toEqual([...model.values()])
  expect(ring.first()).toBe(model.values().next().value)
}

describe('CounterRing', () => {
  test('adds, finds, removes in counter order; first() is the lowest counter held', () => {
    const ring = new CounterRing<number>()
    expect(ring.size).toBe(0)
    expect(ring.first()).toBeUndefined()
    expect(ring.get(1)).toBeUndefined()
    for (let c = 1; c <= 5; c++) ring.set(c, c * 10)
    expect(ring.get(3)).toBe(30)
    expect(ring.has(6)).toBe(false)
    expect(ring.delete(3)).toBe(true)
    expect(ring.delete(3)).toBe(false)
    expect(ring.first()).toBe(10)
    expect(ring.delete(1)).toBe(true)
    expect(ring.first()).toBe(20)
    expect([...ring.values()]).toEqual([20, 40, 50])
    expect(ring.size).toBe(3)
  })

  test('refuses a counter that does not grow', () => {
    const ring = new CounterRing<number>()
    ring.set(5, 1)
    expect(() => { ring.set(5, 2) }).toThrow(RangeError)
    expect(() => { ring.set(4, 2) }).toThrow(RangeError)
    expect(() => { ring.set(1.5, 2) }).toThrow(RangeError)
    ring.delete(5)
    expect(() => { ring.set(5, 2) }).toThrow(RangeError) // still below the next counter, even when empty
    ring.set(6, 3)
    expect(ring.get(6)).toBe(3)
  })

  test('a straggler far behind the newest counter moves aside: the ring stays bounded and the order holds', () => {
    const ring = new CounterRing<number>()
    const model = new Map<number, number>()
    const add = (c: number): void => { ring.set(c, c); model.set(c, c) }
    const del = (c: number): void => { expect(ring.delete(c)).toBe(model.delete(c)) }
    add(1) // the straggler
    add(2)
    const last = 3 * COUNTER_RING_MAX_SLOTS
    for (let c = 3; c <= last; c++) {
      add(c)
      del(c - 1) // acknowledged right after the next one went out
    }
    same(ring, model)
    expect(ring.get(1)).toBe(1)
    expect(ring.get(last)).toBe(last)
    del(1)
    same(ring, model)
    add(last + 1)
    del(last)
    same(ring, model)
  })

  test('random adds and removes agree with a Map', () => {
    let seed = 7
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed / 0x80000000
    }
    const ring = new CounterRing<number>()
    const model = new Map<number, number>()
    let next = 1
    for (let step = 0; step < 50_000; step++) {
      const r = random()
      if (r < 0.5) {
        next += r < 0.01 ? Math.floor(random() * 3 * COUNTER_RING_MAX_SLOTS) : 1 // a jump now and then
        ring.set(next, next)
        model.set(next, next)
      } else if (model.size > 0) {
        // mostly the oldest, sometimes any
        const keys = [...model.keys()]
        const c = random() < 0.6 ? keys[0]! : keys[Math.floor(random() * keys.length)]!
        expect(ring.delete(c)).toBe(true)
        model.delete(c)
      }
      if (step % 997 === 0) same(ring, model)
      expect(ring.get(next)).toBe(model.get(next))
    }
    same(ring, model)
    for (const c of [...model.keys()]) {
      expect(ring.get(c)).toBe(c)
      ring.delete(c)
    }
    expect(ring.size).toBe(0)
    expect(ring.first()).toBeUndefined()
  })
})
