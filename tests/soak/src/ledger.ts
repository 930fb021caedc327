// The ledger: every message the soak sends, what its sender was told, and every time a handler ran for it.
// `verdict()` is the proof at the end: each message handled exactly once, or reported failed to its sender.

export type Outcome = 'ok' | 'failed' | 'abandoned'

/**
 * Failure codes that @egtp/node documents as "not delivered" (packages/node/README.md): a message reported
 * with one of them and handled anyway contradicts its sender. Other codes (ERR_DELIVERY_UNCERTAIN, a query's
 * ERR_TIMEOUT or ERR_CLOSED) mean "may have been delivered", and a single delivery is allowed.
 */
export const NOT_DELIVERED_CODES: Readonly<Record<'query' | 'oneway', readonly string[]>> = {
  query: ['ERR_UNREACHABLE', 'ERR_NO_HANDLER', 'ERR_TOO_MANY_PENDING'],
  oneway: ['ERR_UNREACHABLE', 'ERR_NO_HANDLER', 'ERR_TOO_MANY_PENDING', 'ERR_TIMEOUT', 'ERR_CLOSED']
}

export interface SentMessage {
  id: string
  from: number
  to: number
  kind: 'query' | 'oneway'
  sentAt: number
  outcome?: Outcome
  /** The error code when it failed. */
  code?: string
  /** Every handler invocation seen for it: the receiving node's index and the sender ID the node authenticated. */
  handled: Array<{ node: number, peerId: string }>
}

export interface Violation { kind: 'lost' | 'duplicated' | 'misdelivered' | 'unknown' | 'unreported' | 'contradicted', id: string, detail: string }

export interface Verdict {
  messages: number
  /** Handled once and acknowledged (or answered) to the sender. */
  delivered: number
  /** Reported failed to the sender and never handled. */
  reportedFailed: number
  /** Reported failed (timeout, uncertain) but handled once anyway: allowed, the sender was told it may have failed. */
  failedButHandled: number
  /** The sender was killed (-9) before it learnt the outcome; handled at most once. */
  abandoned: number
  lost: number
  duplicated: number
  violations: Violation[]
  failureCodes: Record<string, number>
}

export class Ledger {
  readonly #messages = new Map<string, SentMessage>()
  readonly #unknown: Array<{ id: string, node: number }> = []

  sent (m: Omit<SentMessage, 'handled'>): void {
    if (this.#messages.has(m.id)) throw new Error(`message ID ${m.id} sent twice by the soak itself`)
    this.#messages.set(m.id, { ...m, handled: [] })
  }

  /** The sender's answer. The first one counts; a second is a bug of the soak's bookkeeping. */
  outcome (id: string, outcome: Outcome, code?: string): void {
    const m = this.#messages.get(id)
    if (m === undefined) throw new Error(`outcome for a message never sent: ${id}`)
    if (m.outcome !== undefined) throw new Error(`second outcome for ${id}: ${m.outcome} then ${outcome}`)
    m.outcome = outcome
    if (code !== undefined) m.code = code
  }

  handled (id: string, node: number, peerId: string): void {
    const m = this.#messages.get(id)
    if (m === undefined) this.#unknown.push({ id, node })
    else m.handled.push({ node, peerId })
  }

  get (id: string): SentMessage | undefined { return this.#messages.get(id) }
  pendingIds (): string[] { return [...this.#messages.values()].filter(m => m.outcome === undefined).map(m => m.id) }
  all (): IterableIterator<SentMessage> { return this.#messages.values() }
  get size (): number { return this.#messages.size }

  /** A deep copy (the self-check tampers with a copy, never with the real ledger). */
  clone (): Ledger {
    const copy = new Ledger()
    for (const m of this.#messages.values()) copy.#messages.set(m.id, { ...m, handled: m.handled.map(h => ({ ...h })) })
    copy.#unknown.push(...this.#unknown)
    return copy
  }

  /** `nodeIds[i]` is node i's ID: the peer ID its receivers must have authenticated. */
  verdict (nodeIds: readonly string[]): Verdict {
    const v: Verdict = { messages: 0, delivered: 0, reportedFailed: 0, failedButHandled: 0, abandoned: 0, lost: 0, duplicated: 0, violations: [], failureCodes: {} }
    for (const m of this.#messages.values()) {
      v.messages++
      if (m.code !== undefined) v.failureCodes[m.code] = (v.failureCodes[m.code] ?? 0) + 1
      for (const h of m.handled) {
        if (h.node !== m.to || h.peerId !== nodeIds[m.from]) {
          v.violations.push({ kind: 'misdelivered', id: m.id, detail: `meant for node ${m.to} from ${nodeIds[m.from]}, handled by node ${h.node} from ${h.peerId}` })
        }
      }
      const n = m.handled.length
      if (n > 1) {
        v.duplicated++
        v.violations.push({ kind: 'duplicated', id: m.id, detail: `${m.kind} ${m.from}→${m.to} handled ${n} times (outcome ${m.outcome ?? 'none'})` })
        continue
      }
      switch (m.outcome) {
        case 'ok':
          if (n === 1) v.delivered++
          else {
            v.lost++
            v.violations.push({ kind: 'lost', id: m.id, detail: `${m.kind} ${m.from}→${m.to} reported delivered but never handled` })
          }
          break
        case 'failed':
          if (n === 0) v.reportedFailed++
          else if (NOT_DELIVERED_CODES[m.kind].includes(m.code ?? '')) {
            v.violations.push({ kind: 'contradicted', id: m.id, detail: `${m.kind} ${m.from}→${m.to} reported ${m.code ?? '?'} (not delivered) but handled` })
          } else v.failedButHandled++
          break
        case 'abandoned':
          v.abandoned++
          break
        case undefined:
          if (n === 0) v.lost++
          v.violations.push({ kind: n === 0 ? 'lost' : 'unreported', id: m.id, detail: `${m.kind} ${m.from}→${m.to}: its sender never reported an outcome (handled ${n} times)` })
          break
      }
    }
    for (const u of this.#unknown) v.violations.push({ kind: 'unknown', id: u.id, detail: `node ${u.node} handled a message the soak never sent` })
    return v
  }
}

/**
 * The ledger must be able to fail: on a copy, drop one handled entry of a delivered message and add a second
 * entry to another, and require the verdict to see exactly one more lost and one more duplicated message.
 * Returns a description of what went wrong, or undefined when both were caught.
 */
export function ledgerSelfCheck (ledger: Ledger, nodeIds: readonly string[]): string | undefined {
  const base = ledger.verdict(nodeIds)
  const delivered = [...ledger.all()].filter(m => m.outcome === 'ok' && m.handled.length === 1)
  if (delivered.length < 2) return 'fewer than two delivered messages: nothing to tamper with'
  const tampered = ledger.clone()
  const lostOne = tampered.get(delivered[0]!.id)!
  lostOne.handled.length = 0
  const dupOne = tampered.get(delivered[delivered.length - 1]!.id)!
  dupOne.handled.push({ ...dupOne.handled[0]! })
  const t = tampered.verdict(nodeIds)
  const problems: string[] = []
  if (t.lost !== base.lost + 1) problems.push(`a dropped delivery gave lost ${t.lost}, expected ${base.lost + 1}`)
  if (t.duplicated !== base.duplicated + 1) problems.push(`a doubled delivery gave duplicated ${t.duplicated}, expected ${base.duplicated + 1}`)
  if (!t.violations.some(x => x.id === lostOne.id && x.kind === 'lost')) problems.push('the dropped delivery was not named')
  if (!t.violations.some(x => x.id === dupOne.id && x.kind === 'duplicated')) problems.push('the doubled delivery was not named')
  return problems.length === 0 ? undefined : problems.join('; ')
}
