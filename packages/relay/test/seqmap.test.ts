import fc from 'fast-check'
import { expect, test } from 'vitest'
import { SeqMap } from '../src/client/seq-map.ts'

test('SeqMap behaves as a Map under increasing keys (set, get, delete anywhere, shift from the front)', () => {
  const op = fc.oneof(
    fc.record({ k: fc.constant('set' as const), gap: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ k: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ k: fc.constant('shift' as const) }),
    fc.record({ k: fc.constant('clear' as const) })
  )
  fc.assert(fc.property(fc.array(op, { maxLength: 3000 }), fc.nat({ max: 1000 }), (ops, start) => {
    const model = new Map<number, number>()
    const seq = new SeqMap<number>()
    let next = start
    for (const o of ops) {
      if (o.k === 'set') { next += o.gap; model.set(next, next * 2); seq.set(next, next * 2) }
      if (o.k === 'delete') {
        const keys = [...model.keys()]
        const key = keys.length === 0 ? next + 5 : keys[o.at % keys.length]!
        expect(seq.delete(key)).toBe(model.delete(key))
        expect(seq.delete(key)).toBe(false)
      }
      if (o.k === 'shift') {
        const first = model.keys().next()
        expect(seq.firstKey()).toBe(first.done === true ? undefined : first.value)
        expect(seq.shift()).toBe(first.done === true ? undefined : model.get(first.value))
        if (first.done !== true) model.delete(first.value)
      }
      if (o.k === 'clear') { model.clear(); seq.clear() }
      expect(seq.size).toBe(model.size)
    }
    expect(seq.values()).toEqual([...model.values()])
    for (const [key, value] of model) expect(seq.get(key)).toBe(value)
    expect(seq.get(next + 1)).toBeUndefined()
    expect(seq.get(start - 1)).toBeUndefined()
    if (model.size > 0) expect(() => { seq.set([...model.keys()].at(-1)!, 0) }).toThrow(RangeError)
  }), { numRuns: 100 })
})
