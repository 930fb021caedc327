import { describe, expect, test } from 'vitest'
import { pump, pumpFor } from '../bench.js'

describe('bench harness', () => {
  test('pump runs n operations, never more than the window at once', async () => {
    let inflight = 0
    let most = 0
    let ran = 0
    const op = async () => {
      inflight++
      most = Math.max(most, inflight)
      await new Promise(resolve => setImmediate(resolve))
      inflight--
      ran++
    }
    expect(await pump(100, 7, op)).toBe(100)
    expect(ran).toBe(100)
    expect(most).toBe(7)
    expect(await pump(0, 7, op)).toBe(0)
  })

  test('pumpFor stops starting operations once the time is up and counts those that completed', async () => {
    let ran = 0
    const start = performance.now()
    const done = await pumpFor(50, 4, async () => { await new Promise(resolve => setTimeout(resolve, 5)); ran++ })
    expect(done).toBe(ran)
    expect(done).toBeGreaterThan(0)
    expect(performance.now() - start).toBeGreaterThanOrEqual(50)
  })

  test('a failing operation rejects', async () => {
    await expect(pump(10, 2, async () => { throw new Error('boom') })).rejects.toThrow('boom')
  })
})
