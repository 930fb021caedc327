import { describe, expect, it } from 'vitest'
import { Ledger, ledgerSelfCheck } from '../src/ledger.ts'

const ids = ['A', 'B', 'C']

function ledgerWith (): Ledger {
  const l = new Ledger()
  l.sent({ id: 'm1', from: 0, to: 1, kind: 'query', sentAt: 0 })
  l.sent({ id: 'm2', from: 1, to: 2, kind: 'oneway', sentAt: 0 })
  l.sent({ id: 'm3', from: 2, to: 0, kind: 'oneway', sentAt: 0 })
  l.outcome('m1', 'ok')
  l.outcome('m2', 'ok')
  l.outcome('m3', 'failed', 'ERR_TIMEOUT')
  l.handled('m1', 1, 'A')
  l.handled('m2', 2, 'B')
  return l
}

describe('ledger', () => {
  it('counts delivered and reported-failed messages, with no violation', () => {
    const v = ledgerWith().verdict(ids)
    expect(v).toMatchObject({ messages: 3, delivered: 2, reportedFailed: 1, lost: 0, duplicated: 0, violations: [], failureCodes: { ERR_TIMEOUT: 1 } })
  })

  it('a message acknowledged but never handled is lost', () => {
    const l = ledgerWith()
    l.sent({ id: 'm4', from: 0, to: 2, kind: 'oneway', sentAt: 0 })
    l.outcome('m4', 'ok')
    const v = l.verdict(ids)
    expect(v.lost).toBe(1)
    expect(v.violations).toEqual([expect.objectContaining({ kind: 'lost', id: 'm4' })])
  })

  it('a message whose sender never reported is lost (or unreported when handled)', () => {
    const l = ledgerWith()
    l.sent({ id: 'm4', from: 0, to: 2, kind: 'oneway', sentAt: 0 })
    l.sent({ id: 'm5', from: 0, to: 2, kind: 'oneway', sentAt: 0 })
    l.handled('m5', 2, 'A')
    const v = l.verdict(ids)
    expect(v.lost).toBe(1)
    expect(v.violations.map(x => [x.kind, x.id])).toEqual([['lost', 'm4'], ['unreported', 'm5']])
  })

  it('a message handled twice is duplicated, whatever its sender was told', () => {
    const l = ledgerWith()
    l.handled('m1', 1, 'A')
    l.handled('m3', 0, 'C')
    l.handled('m3', 0, 'C')
    const v = l.verdict(ids)
    expect(v.duplicated).toBe(2)
    expect(v.violations.map(x => x.id).sort()).toEqual(['m1', 'm3'])
  })

  it('a failed message handled once is allowed; an abandoned one too', () => {
    const l = ledgerWith()
    l.sent({ id: 'm5', from: 2, to: 0, kind: 'oneway', sentAt: 0 })
    l.outcome('m5', 'failed', 'ERR_DELIVERY_UNCERTAIN')
    l.handled('m5', 0, 'C')
    l.sent({ id: 'm4', from: 0, to: 2, kind: 'query', sentAt: 0 })
    l.outcome('m4', 'abandoned', 'KILLED')
    const v = l.verdict(ids)
    expect(v).toMatchObject({ failedButHandled: 1, abandoned: 1, lost: 0, duplicated: 0, violations: [] })
  })

  it('a delivery to the wrong node, from the wrong sender, or of an unknown ID is a violation', () => {
    const l = ledgerWith()
    l.handled('m3', 1, 'C')
    l.handled('zz', 0, 'B')
    const kinds = l.verdict(ids).violations.map(x => x.kind)
    expect(kinds).toContain('misdelivered')
    expect(kinds).toContain('unknown')
  })

  it('refuses bookkeeping mistakes of the soak itself', () => {
    const l = ledgerWith()
    expect(() => { l.sent({ id: 'm1', from: 0, to: 1, kind: 'query', sentAt: 0 }) }).toThrow(/twice/)
    expect(() => { l.outcome('m1', 'failed') }).toThrow(/second outcome/)
    expect(() => { l.outcome('nope', 'ok') }).toThrow(/never sent/)
  })

  it('the self-check catches a planted loss and a planted duplicate, and tampers only with a copy', () => {
    const l = ledgerWith()
    expect(ledgerSelfCheck(l, ids)).toBeUndefined()
    expect(l.verdict(ids).violations).toEqual([])
  })

  it('the self-check reports when a verdict would miss a planted fault', () => {
    const l = ledgerWith()
    const blind = Object.assign(l.clone(), {})
    // A ledger whose verdict ignores duplicates must fail the self-check.
    const original = Ledger.prototype.verdict
    Ledger.prototype.verdict = function (this: Ledger, nodeIds: readonly string[]) {
      const v = original.call(this, nodeIds)
      return { ...v, duplicated: 0, violations: v.violations.filter(x => x.kind !== 'duplicated') }
    }
    try {
      expect(ledgerSelfCheck(blind, ids)).toMatch(/doubled delivery/)
    } finally {
      Ledger.prototype.verdict = original
    }
  })
})

describe('ledger: failure codes', () => {
  it('a message reported "not delivered" that was handled contradicts its sender; "uncertain" does not', () => {
    const l = new Ledger()
    l.sent({ id: 'a', from: 0, to: 1, kind: 'oneway', sentAt: 0 })
    l.sent({ id: 'b', from: 0, to: 1, kind: 'oneway', sentAt: 0 })
    l.sent({ id: 'c', from: 0, to: 1, kind: 'query', sentAt: 0 })
    l.outcome('a', 'failed', 'ERR_UNREACHABLE')
    l.outcome('b', 'failed', 'ERR_DELIVERY_UNCERTAIN')
    l.outcome('c', 'failed', 'ERR_TIMEOUT')
    for (const id of ['a', 'b', 'c']) l.handled(id, 1, 'A')
    const v = l.verdict(['A', 'B'])
    expect(v.violations.map(x => [x.kind, x.id])).toEqual([['contradicted', 'a']])
    expect(v.failedButHandled).toBe(2)
  })
})
