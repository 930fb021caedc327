import { describe, expect, test } from 'vitest'
import { SourceWarnings, createComponentLogger, disabledLogger, warnOf } from '../src/index.ts'

function capture (): { lines: Array<{ level: string, message: string }>, warnings: (init?: ConstructorParameters<typeof SourceWarnings>[1]) => SourceWarnings, advance: (ms: number) => void } {
  const lines: Array<{ level: string, message: string }> = []
  let now = 1000
  // The namespace is off: warnings are still written, like errors.
  const log = createComponentLogger('-egtp:*', l => { lines.push(l) }).forComponent('test')
  return { lines, warnings: (init = {}) => new SourceWarnings(log, { now: () => now, ...init }), advance: (ms) => { now += ms } }
}

describe('SourceWarnings', () => {
  test('the first of each kind per source is logged at warn level, repeats are counted and summarised after the interval', () => {
    const c = capture()
    const w = c.warnings({ intervalMs: 60_000 })
    expect(w.warn('203.0.113.9', 'malformed', 'closing %s', 'a')).toBe(true)
    expect(w.warn('203.0.113.9', 'malformed', 'closing %s', 'b')).toBe(false)
    expect(w.warn('203.0.113.9', 'timeout', 'closing %s', 'c')).toBe(true)
    expect(w.warn('198.51.100.1', 'malformed', 'closing %s', 'd')).toBe(true)
    for (let i = 0; i < 5; i++) w.warn('203.0.113.9', 'malformed', 'closing %s', 'x')
    c.advance(60_000)
    expect(w.warn('203.0.113.9', 'malformed', 'closing %s', 'e')).toBe(true)
    expect(c.lines.map(l => l.level)).toEqual(['warn', 'warn', 'warn', 'warn'])
    expect(c.lines.map(l => l.message)).toEqual(['closing a', 'closing c', 'closing d', 'closing e (6 more of this kind from 203.0.113.9 not logged)'])
  })

  test('a flood from many sources is capped per second, and memory is bounded', () => {
    const c = capture()
    const w = c.warnings({ maxPerSecond: 3, maxSources: 100 })
    for (let i = 0; i < 1000; i++) w.warn(`10.0.${i >> 8}.${i & 0xff}`, 'malformed', 'x')
    expect(c.lines).toHaveLength(3)
    c.advance(1000)
    for (let i = 0; i < 1000; i++) w.warn(`10.1.${i >> 8}.${i & 0xff}`, 'malformed', 'y')
    expect(c.lines).toHaveLength(6)
    expect(() => c.warnings({ maxSources: 0 })).toThrow(RangeError)
  })

  test('a logger without warn falls back to error; % in a source cannot break the format', () => {
    expect(warnOf(disabledLogger)).toBe(disabledLogger.error)
    const c = capture()
    c.warnings().warn('%s%d', 'k', 'first')
    const w = c.warnings({ intervalMs: 1 })
    w.warn('%s', 'k', 'one %s', 'arg')
    w.warn('%s', 'k', 'one %s', 'arg')
    c.advance(1)
    w.warn('%s', 'k', 'two %s', 'arg')
    expect(c.lines.at(-1)!.message).toBe('two arg (1 more of this kind from %s not logged)')
  })
})
