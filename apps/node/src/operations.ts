// What a running node answers on its control socket. Every input is checked; bad input gets a coded error.
import { parseNodeId } from '@egtp/identity'
import { EgtpError } from '@egtp/interface'
import type { ComposedNode } from './compose.ts'
import { addContact } from './compose.ts'
import type { ControlHandler } from './control-socket.ts'

/** The one-way message type `send` and `chat` use; `run` prints what arrives with it. */
export const TEXT_TYPE = 'text'
/** Longest deadline a control client may ask for (ms). */
export const MAX_CONTROL_TIMEOUT_MS = 10 * 60_000
/** Default deadline of ping/send/query (ms). */
export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000

/** A message `run` received, as printed and as streamed to `watch` clients. */
export interface Received { event: 'message', from: string, type: string, payload: unknown, at: string }

/** Live facts `status` reports beyond the node's own stats. */
export interface RunState {
  startedAt: number
  sessions: Map<string, { sessionId: string, role: string, since: string }>
  watchers: Set<(m: Received) => void>
  recordText: () => string
}

function field<T> (req: Record<string, unknown>, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = req[name]
  if (!check(v)) throw new EgtpError('ERR_FIELD', `${name} must be ${what}`)
  return v
}
const isString = (v: unknown): v is string => typeof v === 'string' && v !== ''
const peerOf = (req: Record<string, unknown>): string => {
  const peer = field(req, 'peer', isString, 'a node ID')
  try { return parseNodeId(peer) } catch (err) { throw new EgtpError('ERR_BAD_NODE_ID', (err as Error).message.replace(/^ERR_[A-Z_]+: /, ''), { cause: err }) }
}
const timeoutOf = (req: Record<string, unknown>): number => {
  const t = req.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 1 || t > MAX_CONTROL_TIMEOUT_MS) throw new EgtpError('ERR_FIELD', `timeoutMs must be 1..${MAX_CONTROL_TIMEOUT_MS}`)
  return t
}

/** The status snapshot: sessions, peers, relays, trackers and counters. */
export function statusOf (c: ComposedNode, state: RunState): Record<string, unknown> {
  const stats = JSON.parse(JSON.stringify(c.node.stats())) as Record<string, unknown> & { perPeer: Record<string, unknown> }
  const { perPeer, ...counters } = stats
  return {
    nodeId: c.node.nodeId,
    uptimeMs: Math.round(performance.now() - state.startedAt),
    endpoints: c.node.contactRecord()?.endpoints ?? [],
    sessions: [...state.sessions].map(([peerId, s]) => ({ peerId, ...s })),
    peers: Object.keys(perPeer).map(peerId => ({ peerId, ...(perPeer[peerId] as object) })),
    relays: c.relays.relays(),
    trackers: c.trackers(),
    counters
  }
}

export function controlOperations (c: ComposedNode, state: RunState): ControlHandler {
  return async (req, push, onClose) => {
    switch (req.op) {
      case 'status':
        return statusOf(c, state)
      case 'record':
        return { nodeId: c.node.nodeId, record: state.recordText() }
      case 'addContact':
        return { nodeId: await addContact(c, field(req, 'record', isString, 'a base64 contact record')) }
      case 'ping': {
        const peer = peerOf(req)
        const nonce = Math.random().toString(36).slice(2)
        const t0 = performance.now()
        const echoed = await c.node.query(peer, 'echo', nonce, { timeoutMs: timeoutOf(req) })
        if (echoed !== nonce) throw new EgtpError('ERR_REMOTE', 'the peer echoed something else')
        return { rttMs: Math.round((performance.now() - t0) * 100) / 100 }
      }
      case 'send': {
        const type = req.type === undefined ? TEXT_TYPE : field(req, 'type', isString, 'a message type')
        await c.node.send(peerOf(req), type, req.payload ?? null, { timeoutMs: timeoutOf(req) })
        return { delivered: true }
      }
      case 'query':
        return await c.node.query(peerOf(req), field(req, 'type', isString, 'a handler name'), req.payload ?? null, { timeoutMs: timeoutOf(req) })
      case 'watch': {
        const from = req.peer === undefined ? undefined : peerOf(req)
        const watcher = (m: Received): void => { if (from === undefined || m.from === from) push(m as unknown as Record<string, unknown>) }
        state.watchers.add(watcher)
        onClose(() => { state.watchers.delete(watcher) })
        return { watching: from ?? 'all' }
      }
      default:
        throw new EgtpError('ERR_UNKNOWN_TYPE', `unknown op ${JSON.stringify(req.op).slice(0, 64)}`)
    }
  }
}
