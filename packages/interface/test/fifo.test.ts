import { describe, expect, test } from 'vitest'
import { Fifo } from '../src/index.ts'

describe('Fifo', () => {
  test('first in, first out; empty gives undefined', () => {
    const q = new Fifo<number>()
    expect(q.length).toBe(0)
    expect(q.shift()).toBeUndefined()
    expect(q.peek()).toBeUndefined()
    for (let i = 0; i < 5; i++) q.push(i)
    expect(q.length).toBe(5)
    expect(q.peek()).toBe(0)
    expect([q.shift(), q.shift()]).toEqual([0, 1])
    expect(q.values()).toEqual([2, 3, 4])
    expect(q.drain()).toEqual([2, 3, 4])
    expect(q.length).toBe(0)
  })

  test('unshift and unshiftAll put items back in front, in order', () => {
    const q = new Fifo<string>()
    q.push('c')
    q.unshift('b') // no consumed prefix: array unshift
    expect(q.values()).toEqual(['b', 'c'])
    q.push('d')
    expect(q.shift()).toBe('b')
    q.unshift('b') // into the consumed prefix
    q.unshiftAll(['x', 'y'])
    expect(q.drain()).toEqual(['x', 'y', 'b', 'c', 'd'])
  })

  test('a queue emptied and filled again (the array it keeps) keeps its order, and trim lets it go', () => {
    const q = new Fifo<number>()
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) q.push(round * 10 + i)
      expect(q.length).toBe(3)
      expect([q.shift(), q.shift(), q.shift()]).toEqual([round * 10, round * 10 + 1, round * 10 + 2])
      expect(q.shift()).toBeUndefined()
      expect(q.length).toBe(0)
      expect(q.values()).toEqual([])
    }
    q.push(1)
    q.unshift(0)
    q.trim() // not empty: nothing dropped
    expect(q.drain()).toEqual([0, 1])
    q.push(7)
    expect(q.shift()).toBe(7)
    q.trim()
    q.push(8)
    expect(q.values()).toEqual([8])
    expect(q.remove(8)).toBe(true)
    expect(q.length).toBe(0)
    expect(q.peek()).toBeUndefined()
  })

  test('remove takes out one queued item, not a consumed one', () => {
    const q = new Fifo<object>()
    const a = {}
    const b = {}
    q.push(a)
    q.push(b)
    q.push(a)
    expect(q.shift()).toBe(a)
    expect(q.remove(a)).toBe(true)
    expect(q.remove(a)).toBe(false)
    expect(q.values()).toEqual([b])
  })

  test('a long-running queue compacts its consumed prefix and keeps its order', () => {
    const q = new Fifo<number>()
    let next = 0
    let expected = 0
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) q.push(next++)
      for (let i = 0; i < 250; i++) expect(q.shift()).toBe(expected++)
    }
    expect(q.length).toBe(next - expected)
    expect(q.peek()).toBe(expected)
    expect(q.drain()).toEqual(Array.from({ length: next - expected }, (_, i) => expected + i))
  })

  test('falsy items are items', () => {
    const q = new Fifo<number | null>()
    q.push(0)
    q.push(null)
    expect(q.length).toBe(2)
    expect(q.shift()).toBe(0)
    expect(q.shift()).toBeNull()
    expect(q.length).toBe(0)
  })
})
