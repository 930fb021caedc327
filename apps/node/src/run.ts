// `egtp-node run`: serve until SIGINT/SIGTERM, print what arrives. Also the legacy flag-only invocation
// (`egtp-node --relay … --key-file … --data-dir …`) the demo and tests use, with its IPC control channel.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:net'
import { join } from 'node:path'
import { encodeContactRecord } from '@egtp/identity'
import { createComponentLogger } from '@egtp/interface'
import type { ComponentLogger } from '@egtp/interface'
import { ConfigError, hostPort, list, parse, positiveInt, relayArg, str } from './args.ts'
import { composeNode, loadIdentity, readRecordText } from './compose.ts'
import type { NodeExtensions } from './compose.ts'
import { attachControl } from './control.ts'
import { controlSocketPath, listenControl } from './control-socket.ts'
import { TEXT_TYPE, controlOperations } from './operations.ts'
import type { Received, RunState } from './operations.ts'
import { bootpageArgs, trackerClient, trackerRecordArg } from './trackers.ts'

export const RUN_OPTIONS = {
  listen: { type: 'string' },
  relay: { type: 'string', multiple: true },
  'key-file': { type: 'string' },
  'data-dir': { type: 'string' },
  'peer-record': { type: 'string', multiple: true },
  tracker: { type: 'string', multiple: true },
  bootpage: { type: 'string', multiple: true },
  'bootpage-key': { type: 'string' },
  'clock-window-ms': { type: 'string' }
} as const

export const RUN_USAGE = `usage: egtp-node run [--listen HOST:PORT] [--relay off|auto|NODEID@HOST:PORT]... [--state-dir DIR]
                    [--tracker RECORD]... [--bootpage URL... --bootpage-key KEY] [--peer-record FILE]...
                    [--clock-window-ms N] [--json]
Serve: answer echo queries, print the text messages that arrive (JSON lines with --json), until SIGINT/SIGTERM.
  --listen HOST:PORT     accept direct TCP connections there (omit for a relay-only node behind NAT)
  --relay ID@HOST:PORT   register with this relay and advertise it (repeatable); off: none; auto: register with
                         relays found through the trackers (the default with trackers and no --listen)
  --tracker RECORD       a metatracker's signed contact record: a file (base64, or egtp-metatracker's JSON
                         ready line) or the base64 itself (repeatable). The node publishes its own record to
                         the trackers (withdrawn on exit) and finds peers by node ID alone through them
  --bootpage URL         a bootpage mirror (http: or https:, repeatable): the trackers come from the signed
                         page, which is loaded again (at most every 90 s) when every tracker known has failed
  --bootpage-key KEY     the node ID or hex public key that signs the bootpage (required with --bootpage);
                         with --state-dir the last good page is kept in DIR/bootpage
  --state-dir DIR        keep the identity (DIR/identity.key, 0600) and state (DIR/data) across runs, write the
                         signed contact record to DIR/record, and serve the control socket DIR/control.sock
                         (0600) that ping/send/query/chat/status use; without it the identity is ephemeral
  --peer-record FILE     a peer's signed contact record (base64, as in DIR/record or \`egtp-node id --record\`)
  --clock-window-ms N    paranoid sessions: refuse initiations whose clock differs by more than N ms
  --json                 JSON lines on stdout (ready line, messages) and stderr (logs)
  --key-file FILE, --data-dir DIR   override the two halves of --state-dir (kept for existing scripts)
Environment: DEBUG (log namespaces, default "egtp:app-node"), EGTP_NODE_LISTEN, EGTP_NODE_RELAYS,
EGTP_NODE_STATE_DIR, EGTP_NODE_KEY_FILE, EGTP_NODE_DATA_DIR, EGTP_NODE_PEER_RECORDS, EGTP_NODE_TRACKERS,
EGTP_NODE_BOOTPAGES (comma-separated), EGTP_NODE_BOOTPAGE_KEY, EGTP_NODE_CLOCK_WINDOW_MS.
Exit status: 0 after SIGINT/SIGTERM, 1 on a runtime failure, 2 on invalid configuration.`

/** How `run` reports: human-readable lines by default, JSON lines with --json. */
function makeLogger (json: boolean): ComponentLogger {
  return createComponentLogger(process.env.DEBUG ?? 'egtp:app-node', ({ namespace, level, message }) => {
    process.stderr.write(json
      ? `${JSON.stringify({ time: new Date().toISOString(), level, namespace, message })}\n`
      : `${new Date().toISOString()} ${level === 'error' ? 'ERROR ' : ''}${namespace} ${message}\n`)
  })
}

/** Say something to the operator on stderr even when DEBUG is quiet (once per event worth it). */
function notice (json: boolean, event: string, message: string, extra: Record<string, unknown> = {}): void {
  process.stderr.write(json ? `${JSON.stringify({ time: new Date().toISOString(), level: 'notice', event, message, ...extra })}\n` : `egtp-node: ${message}\n`)
}

/**
 * `legacy`: the flag-only invocation (no `run` command), which always printed its ready line as JSON on
 * stdout; scripts that spawn it read that line.
 */
export async function run (argv: readonly string[], extensions: NodeExtensions = {}, legacy = false): Promise<void> {
  const env = process.env
  const { values } = parse(argv, RUN_OPTIONS)
  if (values.help === true) { process.stdout.write(`${RUN_USAGE}\n`); return }
  const json = values.json === true
  const stateDir = str(values, 'state-dir', env.EGTP_NODE_STATE_DIR)
  const listenText = str(values, 'listen', env.EGTP_NODE_LISTEN)
  const listen = listenText !== undefined ? hostPort('--listen', listenText) : undefined
  const relayWords = list(values, 'relay', env.EGTP_NODE_RELAYS)
  const relays = relayWords.map(relayArg).filter(r => r !== undefined)
  const relayOff = relayWords.includes('off')
  const trackerRecords = list(values, 'tracker', env.EGTP_NODE_TRACKERS).map(trackerRecordArg)
  const bootpage = bootpageArgs(list(values, 'bootpage', env.EGTP_NODE_BOOTPAGES), str(values, 'bootpage-key', env.EGTP_NODE_BOOTPAGE_KEY))
  const tracked = trackerRecords.length > 0 || bootpage !== undefined
  // `auto` when asked, and by default for a node with trackers that names no relay and has no --listen.
  const relayAuto = relayWords.includes('auto') || (tracked && listen === undefined && relayWords.length === 0)
  if (relayAuto && !tracked) throw new ConfigError('--relay auto needs --tracker or --bootpage: relays are found through the trackers')
  if (relayOff && (relays.length > 0 || relayWords.includes('auto'))) throw new ConfigError('--relay off cannot be combined with other --relay values')
  if (listen === undefined && relays.length === 0 && !relayAuto) {
    throw new ConfigError(relayOff ? '--relay off needs --listen: otherwise nobody can reach this node' : 'give --listen, --relay, or both (or --tracker/--bootpage for --relay auto): otherwise nobody can reach this node')
  }
  const clockWindowMs = positiveInt('--clock-window-ms', str(values, 'clock-window-ms', env.EGTP_NODE_CLOCK_WINDOW_MS))
  if (stateDir !== undefined) {
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 })
    } catch (err) {
      throw new ConfigError(`--state-dir ${stateDir}: ${(err as Error).message}`)
    }
  }
  const keyFile = str(values, 'key-file', env.EGTP_NODE_KEY_FILE) ?? (stateDir !== undefined ? join(stateDir, 'identity.key') : undefined)
  const dataDir = str(values, 'data-dir', env.EGTP_NODE_DATA_DIR) ?? (stateDir !== undefined ? join(stateDir, 'data') : undefined)
  const peerRecords = list(values, 'peer-record', env.EGTP_NODE_PEER_RECORDS).map((file) => {
    let text: string
    try { text = readFileSync(file, 'utf8') } catch (err) { throw new ConfigError(`--peer-record ${file}: ${(err as Error).message}`) }
    return readRecordText(file, text)
  })

  const logger = makeLogger(json)
  const log = logger.forComponent('egtp:app-node')
  const identity = await loadIdentity(keyFile)
  const tracking = trackerClient({ records: trackerRecords, bootpage, stateDir }, identity, logger)
  const composed = await composeNode({ listen, relays, relayAuto, keyFile, dataDir, clockWindowMs, identity }, logger, mergeExtensions(extensions, tracking?.extensions))
  const { node, directory } = composed
  for (const record of peerRecords) {
    try { await directory.announce(record) } catch (err) { throw new ConfigError(`--peer-record for ${record.nodeId}: ${(err as Error).message}`) }
  }

  const state: RunState = { startedAt: performance.now(), sessions: new Map(), watchers: new Set(), recordText: () => '' }
  const show = (m: Received): void => {
    if (json) process.stdout.write(`${JSON.stringify(m)}\n`)
    else process.stdout.write(`${m.at.slice(11, 19)} ${m.from} ${m.type === TEXT_TYPE ? '' : `[${m.type}] `}${typeof m.payload === 'string' ? m.payload : JSON.stringify(m.payload)}\n`)
    for (const w of state.watchers) w(m)
  }
  node.handle('echo', (payload) => payload)
  node.handle('seq', (payload, ctx) => { process.send?.({ op: 'received', type: 'seq', from: ctx.peerId, payload }); return null })
  node.handle(TEXT_TYPE, (payload, ctx) => { show({ event: 'message', from: ctx.peerId, type: TEXT_TYPE, payload, at: new Date().toISOString() }) })
  node.addEventListener('session:new', ({ detail }) => {
    state.sessions.set(detail.peerId, { sessionId: String(detail.sessionId), role: detail.role, since: new Date().toISOString() })
    if (state.sessions.size > 1024) state.sessions.delete(state.sessions.keys().next().value!)
  })

  // A relay that cannot be reached does not end the node: it keeps reconnecting and says so once per outage.
  const down = new Set<string>()
  composed.relays.addEventListener('relay:down', ({ detail }) => {
    const key = `${detail.endpoint.relay}@${detail.endpoint.host}:${detail.endpoint.port}`
    if (!down.has(key) && detail.endpoint.relay !== undefined && relays.some(r => r.relay === detail.endpoint.relay)) {
      down.add(key)
      notice(json, 'relay:down', `relay ${key} is unreachable; still running and reconnecting (egtp-node status shows it)`, { relay: key })
    }
  })
  composed.relays.addEventListener('relay:ready', ({ detail }) => {
    const key = `${detail.endpoint.relay}@${detail.endpoint.host}:${detail.endpoint.port}`
    if (down.delete(key)) notice(json, 'relay:ready', `relay ${key} is reachable again`, { relay: key })
  })
  // The relay client backs off on unref'd timers: this keeps the process (and so the node) running meanwhile.
  const keepAlive = setInterval(() => {}, 60_000)

  try {
    await node.start()
  } catch (err) {
    clearInterval(keepAlive)
    tracking?.loader?.close()
    throw new Error(`could not start: ${(err as Error).message}`, { cause: err })
  }
  if (tracking !== undefined && tracking.client.trackerIds().length === 0) {
    notice(json, 'trackers:none', 'no tracker known yet (the bootpage gave none); still running, loading it again when it is used (at most every 90 s)')
  }
  const recordText = (): string => Buffer.from(encodeContactRecord(node.contactRecord()!)).toString('base64')
  state.recordText = recordText
  const writeRecord = (): void => {
    if (stateDir === undefined) return
    try { writeFileSync(join(stateDir, 'record'), `${recordText()}\n`, { mode: 0o644 }) } catch (err) { log.error('could not write the record: %e', err) }
  }
  writeRecord()

  let control: Server | undefined
  if (stateDir !== undefined) {
    try {
      control = await listenControl(controlSocketPath(stateDir), controlOperations(composed, state))
    } catch (err) {
      clearInterval(keepAlive)
      await composed.stop()
      throw new ConfigError(`control socket: ${(err as Error).message}`)
    }
  }
  log('config %o', { listen: listen ?? null, relays, relayAuto, trackers: trackerRecords.map(r => r.nodeId), bootpage: bootpage ?? null, keyFile: keyFile ?? null, dataDir: dataDir ?? null, clockWindowMs: clockWindowMs ?? null })
  const ready = { event: 'ready', nodeId: node.nodeId, pid: process.pid, record: recordText(), endpoints: node.contactRecord()?.endpoints ?? [], controlSocket: stateDir !== undefined ? controlSocketPath(stateDir) : null, trackers: tracking?.client.trackerIds() ?? [] }
  if (json || legacy || process.send !== undefined) process.stdout.write(`${JSON.stringify(ready)}\n`)
  else {
    process.stdout.write(`egtp-node ${node.nodeId} running (${ready.endpoints.map(e => `${e.kind} ${e.host}:${e.port}`).join(', ') || 'no endpoint yet'})\n`)
    if (stateDir !== undefined) process.stdout.write(`  record: ${join(stateDir, 'record')}   control: ${ready.controlSocket}\n`)
    else process.stdout.write('  ephemeral identity, no control socket (give --state-dir to keep one and to use ping/send/chat)\n')
  }
  node.addEventListener('contact:change', () => {
    writeRecord()
    process.send?.({ op: 'record', nodeId: node.nodeId, record: recordText() })
  })

  let stopping = false
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log('%s: stopping', why)
    const timer = setTimeout(() => { log.error('stop took over 5 s; exiting'); process.exit(1) }, 5_000)
    timer.unref()
    // stop() lets running handlers finish and their replies and acknowledgements go out; what it still
    // holds unacknowledged is reported to its callers. Control clients get those answers: their connections
    // close only afterwards.
    // The trackers get the node's signed goodbye while it can still send it.
    await composed.stop()
    await new Promise<void>(resolve => { if (control === undefined) resolve(); else control.close(() => { resolve() }) })
    clearInterval(keepAlive)
    process.exit(0)
  }
  process.on('SIGINT', () => { void shutdown('SIGINT') })
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
  if (process.send !== undefined) attachControl(composed, () => { void shutdown('stop command') }, recordText)
}

/** The caller's extensions and the tracker client's, together. */
function mergeExtensions (a: NodeExtensions, b: NodeExtensions | undefined): NodeExtensions {
  if (b === undefined) return a
  const discovery = a.discovery ?? b.discovery
  const trackers = a.trackers ?? b.trackers
  return {
    lookups: [...(a.lookups ?? []), ...(b.lookups ?? [])],
    announcers: [...(a.announcers ?? []), ...(b.announcers ?? [])],
    ...(discovery !== undefined ? { discovery } : {}),
    ...(trackers !== undefined ? { trackers } : {}),
    attach: (node) => { a.attach?.(node); b.attach?.(node) },
    stop: async () => { await Promise.all([a.stop?.(), b.stop?.()]) }
  }
}
