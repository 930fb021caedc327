// The network demo's restart step: A streams numbered queries to B (reached only through a relay); B is
// killed with SIGKILL and restarted with its key and data directory while A keeps sending. The timeline names
// the mechanisms as the nodes report them, says how long B was down and how long the queued queries waited,
// and counts delivered / reported failed / lost.
import type { Narrator } from './narrate.ts'
import { exited } from './processes.ts'
import type { NodeProcess } from './processes.ts'
import { within } from './timeline.ts'
import type { Timeline } from './timeline.ts'

/** The first query sent after B is back must be answered within this (the node's stated bound). */
export const RECOVERY_BOUND_MS = 10_000
/** Each streamed query's deadline: long enough to wait out B's restart in the relay's queue. */
export const STREAM_QUERY_TIMEOUT_MS = 20_000
export const STREAM_INTERVAL_MS = 50
/** Queries B handles before it is killed, and queries answered after it is back before the stream stops. */
const BEFORE_KILL = 20
const AFTER_RESTART = 25
const WAIT_MS = 25_000
/** How often A's counters are read during the step (to name the moment re-sends start). */
const RESEND_POLL_MS = 200

export interface RestartInput {
  tl: Timeline
  narrator: Narrator
  a: NodeProcess
  b: NodeProcess
  /** Start B again; `prepare` runs before its ready line (so nothing it handles is missed). */
  restart: (prepare: (node: NodeProcess) => void) => Promise<NodeProcess>
  /** Resolves when the restarted B is reachable again (registered with a relay, advertised in its record). */
  reachable: (node: NodeProcess) => Promise<void>
}

interface Sent { seq: number, sentAt: number, ok: boolean, code?: string, at: number }

const median = (xs: number[]): number => { const s = [...xs].sort((x, y) => x - y); return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]! }
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`

export async function restartStep ({ tl, narrator, a, b, restart, reachable }: RestartInput): Promise<NodeProcess> {
  tl.begin('B restart', 'A keeps sending numbered queries to B; B is killed with SIGKILL and restarted with its state')
  const handled = new Map<number, number>()
  const waiters: Array<{ test: () => boolean, resolve: () => void }> = []
  const wake = (): void => { for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.test()) { waiters[i]!.resolve(); waiters.splice(i, 1) } }
  const until = async (what: string, test: () => boolean): Promise<void> => {
    if (test()) return
    await within(WAIT_MS, what, new Promise<void>(resolve => { waiters.push({ test, resolve }) }))
  }
  const count = (node: NodeProcess): void => { node.onReceived((p) => { const n = p as number; handled.set(n, (handled.get(n) ?? 0) + 1); wake() }) }
  count(b)
  const retransmissionsBefore = Number((await a.stats()).retransmissions ?? 0)
  narrator.reset()
  narrator.live = true
  // Re-sends have no event of their own: A's retransmission counter, read while the stream runs, names the
  // moment they start.
  let resendsShown = false
  const watchResends = setInterval(() => {
    void a.stats().then((st) => {
      const n = Number(st.retransmissions ?? 0) - retransmissionsBefore
      if (n > 0 && !resendsShown && narrator.live) {
        resendsShown = true
        tl.note(`re-sends: A has re-sent ${n} unacknowledged message${n === 1 ? '' : 's'} so far (its retransmission counter)`)
      }
    })
  }, RESEND_POLL_MS)

  const results: Array<Promise<Sent>> = []
  const settled: Sent[] = []
  let seq = 0
  let streaming = true
  const stream = (async () => {
    while (streaming) {
      const n = seq++
      const sentAt = performance.now()
      results.push(a.query(b.nodeId, 'seq', n, STREAM_QUERY_TIMEOUT_MS).then((r) => {
        const s: Sent = { seq: n, sentAt, ok: r.ok, ...(r.code !== undefined ? { code: r.code } : {}), at: performance.now() }
        settled.push(s)
        wake()
        return s
      }))
      await new Promise(resolve => setTimeout(resolve, STREAM_INTERVAL_MS))
    }
  })()
  tl.say(`A streams numbered queries to B (through its relay) every ${STREAM_INTERVAL_MS} ms`)
  let upAt = Number.POSITIVE_INFINITY
  let killedAt = Number.POSITIVE_INFINITY
  try {
    await until(`B handling ${BEFORE_KILL} queries`, () => handled.size >= BEFORE_KILL)
    killedAt = performance.now()
    b.child.kill('SIGKILL')
    tl.say(`B killed with SIGKILL after handling ${handled.size} queries (query #${seq - 1} was the last sent); its sessions die with it, A does not know`)
    await exited(b.child)
    b = await restart(count)
    tl.say(`B restarted with the same key and data directory (its de-duplication journal and session replay state); it looks for relays again`)
    await reachable(b)
    upAt = performance.now()
    tl.say(`B reachable again through its relay: it was down ${secs(upAt - killedAt)}`)
    await until(`${AFTER_RESTART} queries sent after B came back answered`, () => settled.filter(s => s.ok && s.sentAt >= upAt).length >= AFTER_RESTART)
  } catch (err) {
    tl.abort(err)
  } finally {
    clearInterval(watchResends)
    streaming = false
    await stream
  }
  const all = await Promise.all(results)
  narrator.live = false
  const retransmissions = Number((await a.stats()).retransmissions ?? 0) - retransmissionsBefore

  const delivered = all.filter(r => r.ok).length
  const failed = all.filter(r => !r.ok)
  const lost = seq - all.length
  const whileDown = all.filter(r => r.sentAt >= killedAt && r.sentAt < upAt)
  const waited = whileDown.filter(r => r.ok).map(r => r.at - r.sentAt)
  const firstAfter = all.filter(r => r.ok && r.sentAt >= upAt).sort((x, y) => x.at - y.at)[0]
  const recoveryMs = firstAfter === undefined ? Number.POSITIVE_INFINITY : firstAfter.at - firstAfter.sentAt
  const twice = [...handled.values()].filter(n => n > 1).length
  const unhandled = all.filter(r => r.ok && !handled.has(r.seq)).length

  const m = (node: string, kind: string): number => narrator.take(node, kind)
  const hints = m('A', 'hint')
  const uncertain = m('B', 'uncertain')
  const initiations = m('A', 'initiation') + m('B', 'initiation')
  const accepted = m('A', 'accepted') + m('B', 'accepted')
  const duplicates = m('B', 'duplicate')
  tl.say(`mechanisms: stale session ended by a hint through the relay ×${hints}, new initiation ×${initiations} (accepted ×${accepted}), re-sends ×${retransmissions} (A's retransmissions), de-duplicated ×${duplicates} (re-sent messages B had already handled), refused as uncertain ×${uncertain}`)
  tl.say(`${whileDown.length} queries were sent while B was down: ${waited.length} answered after waiting ${secs(median(waited))} (median) to ${secs(Math.max(0, ...waited))} (longest)`)
  const failedHandled = failed.filter(f => handled.has(f.seq)).length
  tl.say(`stream: ${seq} sent, ${delivered} delivered, ${failed.length} reported failed${failed.length > 0 ? ` (${[...new Set(failed.map(f => f.code))].join(', ')}; B had in fact handled ${failedHandled}: a failure report means "not confirmed", and the caller decides)` : ''}, ${lost} lost`)
  tl.check(lost === 0, 'lost = 0: every query was answered or reported failed to A')
  tl.check(twice === 0, `no query was handled twice (${handled.size} distinct handled by B across both lives)`)
  tl.check(unhandled === 0, 'every answered query was handled by B')
  tl.check(initiations + accepted > 0, 'a new session was set up after the restart')
  tl.check(recoveryMs <= RECOVERY_BOUND_MS, `recovery: the first query sent after B was back was answered in ${Number.isFinite(recoveryMs) ? `${Math.round(recoveryMs)} ms` : 'never'} (bound ${RECOVERY_BOUND_MS} ms)`)
  return b
}
