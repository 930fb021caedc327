// id, ping, send, query, chat, status: clients of a running `egtp-node run --state-dir DIR` (its control
// socket, DIR/control.sock). They start no node of their own: the running node keeps the sessions, so a
// reply to a chat line reaches the person who typed it.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ConfigError, list, nodeIdArg, parse, positiveInt, str } from './args.ts'
import type { OptionSpec, Parsed } from './args.ts'
import { loadIdentity } from './compose.ts'
import { ControlClient } from './control-socket.ts'
import { TEXT_TYPE } from './operations.ts'

const CLIENT_OPTIONS = {
  'peer-record': { type: 'string', multiple: true },
  'timeout-ms': { type: 'string' }
} as const satisfies OptionSpec

const COMMON_HELP = `  --state-dir DIR      the running node's state directory (EGTP_NODE_STATE_DIR)
  --peer-record FILE   first give the node this peer's signed contact record (repeatable)
  --timeout-ms N       the message's deadline (default 10000)
  --json               JSON output`

export const CLIENT_USAGE: Record<string, string> = {
  id: `usage: egtp-node id --state-dir DIR [--record] [--json]
Print this node's ID (creating its key in DIR if missing); --record prints the signed contact record of the
node running with DIR (base64, for the other side's --peer-record) instead.`,
  ping: `usage: egtp-node ping NODE_ID --state-dir DIR [options]
Ask NODE_ID to echo a nonce through the node running with DIR; prints the round-trip time.
${COMMON_HELP}`,
  send: `usage: egtp-node send NODE_ID TEXT --state-dir DIR [options]
Send TEXT as a one-way message; returns once NODE_ID's node has handed it to its handler.
${COMMON_HELP}`,
  query: `usage: egtp-node query NODE_ID HANDLER [JSON] --state-dir DIR [options]
Query HANDLER at NODE_ID with the JSON payload (default null); prints the reply as JSON.
${COMMON_HELP}`,
  chat: `usage: egtp-node chat NODE_ID --state-dir DIR [options]
Interactive: each line typed is sent to NODE_ID; what NODE_ID sends is shown. End with Ctrl-D or Ctrl-C.
${COMMON_HELP}`,
  status: `usage: egtp-node status --state-dir DIR [--json]
Sessions, peers, relays, trackers and counters of the node running with DIR.`
}

function stateDirOf (values: Parsed['values']): string {
  const dir = str(values, 'state-dir', process.env.EGTP_NODE_STATE_DIR)
  if (dir === undefined) throw new ConfigError('--state-dir is required: it locates the running node (egtp-node run --state-dir DIR)')
  return dir
}

async function connect (values: Parsed['values']): Promise<ControlClient> {
  const client = await ControlClient.connect(stateDirOf(values))
  for (const file of list(values, 'peer-record', undefined)) {
    let text: string
    try { text = readFileSync(file, 'utf8').trim() } catch (err) { client.close(); throw new ConfigError(`--peer-record ${file}: ${(err as Error).message}`) }
    await client.call('addContact', { record: text })
  }
  return client
}

const out = (values: Parsed['values'], value: unknown, human: string): void => {
  process.stdout.write(values.json === true ? `${JSON.stringify(value)}\n` : `${human}\n`)
}

function timeoutOf (values: Parsed['values']): { timeoutMs?: number } {
  const t = positiveInt('--timeout-ms', str(values, 'timeout-ms'))
  return t === undefined ? {} : { timeoutMs: t }
}

export async function runClient (command: string, argv: readonly string[]): Promise<void> {
  const options: OptionSpec = command === 'id' ? { record: { type: 'boolean' } } : command === 'status' ? {} : CLIENT_OPTIONS
  const { values, positionals } = parse(argv, options, true)
  if (values.help === true) { process.stdout.write(`${CLIENT_USAGE[command]}\n`); return }
  const arity: Record<string, [number, number]> = { id: [0, 0], status: [0, 0], ping: [1, 1], send: [2, 2], query: [2, 3], chat: [1, 1] }
  const [min, max] = arity[command]!
  if (positionals.length < min || positionals.length > max) throw new ConfigError(`${command} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${positionals.length}`)

  if (command === 'id') {
    const dir = stateDirOf(values)
    if (values.record === true) {
      const client = await ControlClient.connect(dir)
      try {
        const r = await client.call('record') as { nodeId: string, record: string }
        out(values, r, r.record)
      } finally { client.close() }
      return
    }
    const keyFile = join(dir, 'identity.key')
    const created = !existsSync(keyFile)
    const identity = await loadIdentity(keyFile)
    out(values, { nodeId: identity.nodeId, keyFile, created }, identity.nodeId)
    return
  }
  const peer = command === 'status' ? '' : nodeIdArg('NODE_ID', positionals[0])
  let payload: unknown = null
  if (command === 'query' && positionals[2] !== undefined) {
    try { payload = JSON.parse(positionals[2]) } catch (err) { throw new ConfigError(`JSON payload: ${(err as Error).message}`) }
  }
  const timeout = command === 'status' ? {} : timeoutOf(values)
  const client = await connect(values)
  try {
    switch (command) {
      case 'status': {
        const s = await client.call('status') as Record<string, unknown>
        out(values, s, formatStatus(s))
        return
      }
      case 'ping': {
        const r = await client.call('ping', { peer, ...timeout }) as { rttMs: number }
        out(values, { peer, ...r }, `${peer}: echo in ${r.rttMs} ms`)
        return
      }
      case 'send':
        out(values, await client.call('send', { peer, type: TEXT_TYPE, payload: positionals[1], ...timeout }), 'delivered')
        return
      case 'query': {
        const reply = await client.call('query', { peer, type: positionals[1], payload, ...timeout })
        process.stdout.write(`${JSON.stringify(reply)}\n`)
        return
      }
      case 'chat':
        await chat(client, peer, values, timeout)
    }
  } finally {
    client.close()
  }
}

async function chat (client: ControlClient, peer: string, values: Parsed['values'], timeout: { timeoutMs?: number }): Promise<void> {
  const json = values.json === true
  client.onEvent((e) => {
    if (e.event !== 'message') return
    process.stdout.write(json ? `${JSON.stringify(e)}\n` : `${String(e.from).slice(0, 8)}> ${typeof e.payload === 'string' ? e.payload : JSON.stringify(e.payload)}\n`)
  })
  await client.call('watch', { peer })
  if (!json) process.stderr.write(`chatting with ${peer}: type a line and press Enter; Ctrl-D ends\n`)
  const lines = createInterface({ input: process.stdin, terminal: false })
  // Lines are sent in order, one at a time: a chat is a conversation, not a bulk transfer.
  let chain = Promise.resolve()
  for await (const line of lines) {
    if (line.trim() === '') continue
    chain = chain.then(async () => {
      try {
        await client.call('send', { peer, type: TEXT_TYPE, payload: line, ...timeout })
        if (json) process.stdout.write(`${JSON.stringify({ event: 'sent', to: peer, payload: line })}\n`)
      } catch (err) {
        process.stderr.write(`not delivered: ${(err as Error).message}\n`)
      }
    })
  }
  await chain
}

function formatStatus (s: Record<string, unknown>): string {
  const lines = [`node ${String(s.nodeId)}  up ${Math.round(Number(s.uptimeMs) / 1000)} s`]
  const endpoints = s.endpoints as Array<{ kind: string, host: string, port: number, relay?: string }>
  lines.push(`endpoints: ${endpoints.map(e => e.kind === 'relay' ? `relay ${e.relay?.slice(0, 8) ?? ''}@${e.host}:${e.port}` : `${e.kind} ${e.host}:${e.port}`).join(', ') || 'none'}`)
  const sessions = s.sessions as Array<{ peerId: string, role: string, since: string }>
  lines.push(`sessions (${sessions.length}):`, ...sessions.map(x => `  ${x.peerId} ${x.role} since ${x.since}`))
  const peers = s.peers as Array<{ peerId: string }>
  lines.push(`peers (${peers.length}):`, ...peers.map(p => `  ${p.peerId}`))
  const relays = s.relays as Array<{ endpoint: { relay: string, host: string, port: number }, state: string, registered: boolean, failures: number }>
  lines.push(`relays (${relays.length}):`, ...relays.map(r => `  ${r.endpoint.relay}@${r.endpoint.host}:${r.endpoint.port} ${r.state}${r.registered ? ' registered' : ''}${r.failures > 0 ? ` (${r.failures} failures)` : ''}`))
  const trackers = s.trackers as unknown[]
  lines.push(`trackers (${trackers.length})${trackers.length > 0 ? ':' : ''}`, ...trackers.map(t => `  ${JSON.stringify(t)}`))
  const c = s.counters as Record<string, unknown>
  lines.push(`counters: sent ${String(c.messagesSent)}, received ${String(c.messagesReceived)}, retransmissions ${String(c.retransmissions)}, handshakes ${String(c.handshakes)}, failed ${JSON.stringify(c.failed)}`)
  return lines.join('\n')
}
