import { describe, expect, it } from 'vitest'
import { ActivityList } from '../src/activity-list.ts'
import type { ActivityLinks } from '../src/activity-list.ts'

class Item implements ActivityLinks<Item> {
  activityPrev: Item | undefined = undefined
  activityNext: Item | undefined = undefined
  readonly name: string
  constructor (name: string) {
    this.name = name
  }
}

const order = (list: ActivityList<Item>): string[] => {
  const out: string[] = []
  for (let s = list.first; s !== undefined; s = s.activityNext) out.push(s.name)
  return out
}

describe('ActivityList', () => {
  it('keeps insertion order; add of a member does not move it, moveToEnd does', () => {
    const list = new ActivityList<Item>()
    const [a, b, c] = [new Item('a'), new Item('b'), new Item('c')]
    list.add(a)
    list.add(b)
    list.add(c)
    list.add(a)
    expect(order(list)).toEqual(['a', 'b', 'c'])
    list.moveToEnd(a)
    expect(order(list)).toEqual(['b', 'c', 'a'])
    list.moveToEnd(a)
    expect(order(list)).toEqual(['b', 'c', 'a'])
    expect(list.first).toBe(b)
    expect(list.last).toBe(a)
    expect(list.size).toBe(3)
  })

  it('deletes from the front, the middle and the end; a non-member is neither deleted nor moved', () => {
    const list = new ActivityList<Item>()
    const items = ['a', 'b', 'c', 'd'].map(n => new Item(n))
    for (const s of items) list.add(s)
    expect(list.delete(items[1]!)).toBe(true)
    expect(list.delete(items[1]!)).toBe(false)
    expect(list.has(items[1]!)).toBe(false)
    list.moveToEnd(items[1]!)
    expect(order(list)).toEqual(['a', 'c', 'd'])
    expect(list.delete(items[0]!)).toBe(true)
    expect(list.delete(items[3]!)).toBe(true)
    expect(order(list)).toEqual(['c'])
    expect(list.first).toBe(items[2])
    expect(list.last).toBe(items[2])
    expect(list.delete(items[2]!)).toBe(true)
    expect(list.first).toBeUndefined()
    expect(list.last).toBeUndefined()
    expect(list.size).toBe(0)
    list.add(items[3]!)
    expect(order(list)).toEqual(['d'])
    list.clear()
    expect(list.has(items[3]!)).toBe(false)
    expect(list.size).toBe(0)
  })
})
