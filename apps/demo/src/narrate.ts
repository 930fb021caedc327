// Names the mechanism at work as a node reports it (its forwarded events, apps/node/src/control.ts): the
// first occurrence of each kind gets a line on the timeline, later ones are counted for the step's summary.
import type { NodeEvent } from './processes.ts'
import type { Timeline } from './timeline.ts'

/** What a node event means, in the demo's words; undefined: not worth a line. */
export function meaning (node: string, peerName: (id: unknown) => string, e: NodeEvent): { kind: string, text: string } | undefined {
  const d = e.detail
  const peer = peerName(d.peerId)
  switch (e.name) {
    case 'session:replaced':
      switch (d.reason) {
        case 'hint': return { kind: 'hint', text: `stale session: ${node}'s frames reach the new ${peer}, which has no such session; ${peer}'s signed hint comes back through the relay and ${node} drops the stale session` }
        case 'restart': return { kind: 'restart', text: `${node} sees a newer initiation from ${peer} (it restarted) and replaces the old session` }
        case 'expired': return { kind: 'expired', text: `${node}'s session with ${peer} expired and is replaced` }
        case 'crossover': return { kind: 'crossover', text: `${node} and ${peer} initiated at the same time: the crossover rule keeps one session` }
        default: return { kind: `replaced:${String(d.reason)}`, text: `${node}'s session with ${peer} replaced (${String(d.reason)})` }
      }
    case 'session:new':
      return d.role === 'initiator'
        ? { kind: 'initiation', text: `new initiation: ${node} opens a fresh session with ${peer}; unacknowledged messages are re-sent under it` }
        : { kind: 'accepted', text: `${node} accepts ${peer}'s new session` }
    case 'message:dropped':
      if (d.reason === 'duplicate') return { kind: 'duplicate', text: `de-duplication: ${node} drops a re-sent message from ${peer} that it had already handled (its journal survived the kill)` }
      if (d.reason === 'session') return { kind: 'stale', text: `stale session: ${node} gets frames for a session it no longer has and cannot open them` }
      if (d.reason === 'uncertain') return { kind: 'uncertain', text: `${node} cannot tell whether it handled a message from ${peer} just before the kill (not yet in its journal): it refuses it rather than risk handling it twice, and ${peer} is told` }
      if (d.reason === 'auth') return { kind: 'auth', text: `${node} ignores frames it cannot authenticate (more hints for the session it already dropped)` }
      return { kind: `dropped:${String(d.reason)}`, text: `${node} dropped a message from ${peer} (${String(d.reason)})` }
    case 'message:failed':
      return { kind: 'failed', text: `${node}: a message to ${peer} was reported failed to its caller (${String((d.error as { code?: string } | undefined)?.code ?? '?')})` }
    case 'relay:down':
      return { kind: `relay-down:${String((d.endpoint as { relay?: string }).relay)}`, text: `${node} lost its link to relay ${peerName((d.endpoint as { relay?: string }).relay)}` }
    case 'relay:ready':
      return d.registered === true
        ? { kind: `relay-ready:${String((d.endpoint as { relay?: string }).relay)}`, text: `${node} is registered with relay ${peerName((d.endpoint as { relay?: string }).relay)}` }
        : undefined
    default:
      return undefined
  }
}

/** Counts the kinds of events seen; prints the first of each kind while `live`. */
export class Narrator {
  readonly counts = new Map<string, number>()
  live = false
  readonly #tl: Timeline
  readonly #peerName: (id: unknown) => string
  readonly #toLocal: (epochMs: number) => number

  /** `toLocal`: a child's epoch milliseconds to this process's `performance.now()`. */
  constructor (tl: Timeline, peerName: (id: unknown) => string, toLocal: (epochMs: number) => number) {
    this.#tl = tl
    this.#peerName = peerName
    this.#toLocal = toLocal
  }

  listener (node: string): (e: NodeEvent) => void {
    return (e) => {
      if (!this.live) return
      const m = meaning(node, this.#peerName, e)
      if (m === undefined) return
      const key = `${node} ${m.kind}`
      const n = (this.counts.get(key) ?? 0) + 1
      this.counts.set(key, n)
      if (n === 1) this.#tl.note(m.text, this.#toLocal(e.at))
    }
  }

  /** How often `kind` was seen at `node`, then forget it (the next step counts anew). */
  take (node: string, kind: string): number {
    const n = this.counts.get(`${node} ${kind}`) ?? 0
    this.counts.delete(`${node} ${kind}`)
    return n
  }

  reset (): void { this.counts.clear() }
}
