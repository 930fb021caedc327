// The IPC control channel of a node started with child_process.fork: the demo and the end-to-end tests
// drive nodes through it. Commands and answers are plain JSON objects; records travel as base64.
// Bad input (an unknown op, a record that fails verification, missing fields) is answered with a coded
// error when the command carries an `id`, logged otherwise, and never ends the node.
import { EgtpError, isEgtpError } from '@egtp/interface'
import type { ComposedNode } from './compose.ts'
import { addContact } from './compose.ts'

export type ControlCommand =
  | { op: 'addContact', record: string, id?: number }
  | { op: 'query', id: number, peer: string, type: string, payload: unknown, timeoutMs?: number }
  | { op: 'send', id: number, peer: string, type: string, payload: unknown, timeoutMs?: number }
  | { op: 'stats', id: number }
  | { op: 'record', id: number }
  | { op: 'events', id?: number }
  | { op: 'status', id: number }
  | { op: 'stop' }

/**
 * The events an `events` subscription forwards to the parent as `{ op: 'event', name, detail, at }` (`at`:
 * the child's `performance.timeOrigin + now()`, ms): what the demo's timeline names as it happens.
 */
export const FORWARDED_NODE_EVENTS = ['peer:connect', 'session:new', 'session:replaced', 'message:dropped', 'message:failed', 'peer:clock-skew'] as const
export const FORWARDED_RELAY_EVENTS = ['relay:ready', 'relay:down', 'relay:undelivered'] as const

/** Event details as plain JSON: errors become `{ code, message }`, bytes are left out. */
function plain (detail: unknown): unknown {
  return JSON.parse(JSON.stringify(detail, (_key, value: unknown) => {
    if (value instanceof Error) return { code: isEgtpError(value) ? value.code : value.name, message: value.message }
    if (value instanceof Uint8Array) return value.length
    return value
  }))
}

/** Forward the events above to the parent, once however often it subscribes. */
function forwardEvents (composed: ComposedNode): void {
  const at = (): number => performance.timeOrigin + performance.now()
  for (const name of FORWARDED_NODE_EVENTS) {
    composed.node.addEventListener(name, ({ detail }) => { process.send?.({ op: 'event', name, detail: plain(detail), at: at() }) })
  }
  for (const name of FORWARDED_RELAY_EVENTS) {
    composed.relays.addEventListener(name, ({ detail }) => { process.send?.({ op: 'event', name, detail: plain(detail), at: at() }) })
  }
}

function answer (id: number | undefined, work: Promise<unknown>): void {
  work.then(
    (value) => { if (id !== undefined) process.send?.({ op: 'result', id, ok: true, value }) },
    (err: unknown) => {
      const code = isEgtpError(err) ? err.code : (err as Error).name
      if (id === undefined) {
        process.stderr.write(`egtp-node: control command refused: ${(err as Error).message}\n`)
        return
      }
      process.send?.({ op: 'result', id, ok: false, code, message: (err as Error).message })
    }
  )
}

/** Runs `fn` so that a synchronous throw becomes a rejection (then answered, never uncaught). */
const attempt = async (fn: () => unknown): Promise<unknown> => await fn()

export function attachControl (composed: ComposedNode, stop: () => void, record: () => string): void {
  const { node } = composed
  let forwarding = false
  process.on('message', (raw) => {
    const cmd = (typeof raw === 'object' && raw !== null ? raw : {}) as ControlCommand
    const id = typeof (cmd as { id?: unknown }).id === 'number' ? (cmd as { id: number }).id : undefined
    const opts = (t: unknown): { timeoutMs?: number } => typeof t === 'number' ? { timeoutMs: t } : {}
    switch (cmd.op) {
      case 'addContact':
        answer(id, attempt(async () => {
          if (typeof cmd.record !== 'string') throw new EgtpError('ERR_FIELD', 'record must be a base64 string')
          return await addContact(composed, cmd.record)
        }))
        break
      case 'query':
        answer(id, attempt(async () => await node.query(cmd.peer, cmd.type, cmd.payload, opts(cmd.timeoutMs))))
        break
      case 'send':
        answer(id, attempt(async () => { await node.send(cmd.peer, cmd.type, cmd.payload, opts(cmd.timeoutMs)) }))
        break
      case 'stats':
        answer(id, attempt(() => JSON.parse(JSON.stringify(node.stats()))))
        break
      case 'record':
        answer(id, attempt(record))
        break
      case 'events':
        if (!forwarding) forwardEvents(composed)
        forwarding = true
        answer(id, Promise.resolve({ node: FORWARDED_NODE_EVENTS, relay: FORWARDED_RELAY_EVENTS }))
        break
      case 'status':
        answer(id, attempt(() => plain({ nodeId: node.nodeId, endpoints: node.contactRecord()?.endpoints ?? [], relays: composed.relays.relays(), trackers: composed.trackers() })))
        break
      case 'stop':
        stop()
        break
      default:
        answer(id, Promise.reject(new EgtpError('ERR_UNKNOWN_TYPE', `unknown control op ${JSON.stringify((cmd as { op?: unknown }).op)}`)))
    }
  })
  // The parent going away ends this node too.
  process.on('disconnect', stop)
}
