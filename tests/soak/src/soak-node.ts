#!/usr/bin/env node
// The soak's node process: an @egtp/node composed as egtp-node composes it (tcp + relay client, a persisted
// key and store), bootstrapped from a signed bootpage (trackers as lookup, discovery and announcer), and
// instrumented for the ledger: every handler invocation is appended with a synchronous write to a file in
// the data directory before the handler returns, so even a kill -9 right after it cannot hide a delivery.
// Driven by its parent over the IPC channel: send / query / mem / stop. Prints a JSON ready line.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createBootpageLoader } from '@egtp/bootpage'
import { FileKeystore, FileStore, decodeContactRecord, encodeContactRecord, loadOrCreateIdentity, parseNodeId } from '@egtp/identity'
import { createComponentLogger, isEgtpError } from '@egtp/interface'
import type { RelayEndpoint } from '@egtp/interface'
import { trackers } from '@egtp/metatracker/client'
import { createNode } from '@egtp/node'
import { relayClient } from '@egtp/relay/client'
import { tcp } from '@egtp/tcp'

const SOAK_QUERY = 'soak.q'
const SOAK_MESSAGE = 'soak.m'

// The IPC protocol of apps/node/src/control.ts (egtp-node), so the driver speaks one protocol to both.
type NodeCommand =
  | { op: 'send' | 'query', id: number, peer: string, type: string, payload: unknown, timeoutMs: number }
  | { op: 'addContact', id?: number, record: string }
  | { op: 'record' | 'mem', id: number }
  | { op: 'stop' }

const { values: args } = parseArgs({
  options: {
    listen: { type: 'string' },
    relay: { type: 'string', multiple: true, default: [] },
    'data-dir': { type: 'string' },
    bootpage: { type: 'string' },
    'bootpage-key': { type: 'string' }
  },
  strict: true
})
const dataDir = args['data-dir']
if (dataDir === undefined || args.bootpage === undefined || args['bootpage-key'] === undefined) {
  process.stderr.write('soak-node: --data-dir, --bootpage and --bootpage-key are required\n')
  process.exit(2)
}

function hostPort (value: string): { host: string, port: number } {
  const i = value.lastIndexOf(':')
  return { host: value.slice(0, i), port: Number(value.slice(i + 1)) }
}

const logger = createComponentLogger(process.env.DEBUG ?? 'egtp:soak-node', ({ namespace, level, message }) => {
  process.stderr.write(`${new Date().toISOString()} ${process.pid} ${level === 'error' ? 'ERROR ' : ''}${namespace} ${message}\n`)
})
mkdirSync(dataDir, { recursive: true, mode: 0o700 })
const identity = await loadOrCreateIdentity(new FileKeystore(join(dataDir, 'key')))
const store = new FileStore(join(dataDir, 'state'))
const loader = createBootpageLoader({ urls: [args.bootpage], key: args['bootpage-key'], stateDir: dataDir, logger })
const page = await loader.load()
const mt = trackers({ trackers: page.trackers, identity, logger })
const relays: RelayEndpoint[] = args.relay.map(r => {
  const at = r.indexOf('@')
  return { kind: 'relay', relay: parseNodeId(r.slice(0, at)), ...hostPort(r.slice(at + 1)) }
})
const listen = args.listen !== undefined ? [{ kind: 'tcp' as const, ...hostPort(args.listen) }] : undefined
const transport = tcp({ ...(listen !== undefined ? { listen } : {}) })({ logger })
const node = await createNode({
  identity,
  commstrats: [transport, relayClient({ relays, register: relays.length > 0 })({ transport, identity, logger })],
  lookup: mt,
  discovery: mt,
  announcer: mt,
  store,
  logger
})
mt.attach(node)

const handledLog = openSync(join(dataDir, 'handled.log'), 'a')
function handled (payload: unknown, peerId: string): string {
  const msgId = (payload as { m?: unknown } | null)?.m
  if (typeof msgId !== 'string') throw new TypeError('soak payload without a message ID')
  writeSync(handledLog, `${msgId} ${peerId}\n`)
  return msgId
}
node.handle(SOAK_QUERY, (payload, ctx) => handled(payload, ctx.peerId))
node.handle(SOAK_MESSAGE, (payload, ctx) => { handled(payload, ctx.peerId); return null })

await node.start()
const recordText = (): string => Buffer.from(encodeContactRecord(node.contactRecord()!)).toString('base64')
process.stdout.write(`${JSON.stringify({ event: 'ready', nodeId: node.nodeId, pid: process.pid, record: recordText() })}\n`)
node.addEventListener('contact:change', () => { process.send?.({ op: 'record', nodeId: node.nodeId, record: recordText() }) })

function answer (id: number, work: Promise<unknown>): void {
  work.then(
    (value) => { process.send?.({ op: 'result', id, ok: true, value }) },
    (err: unknown) => { process.send?.({ op: 'result', id, ok: false, code: isEgtpError(err) ? err.code : (err as Error).name }) }
  )
}

let stopping = false
async function shutdown (): Promise<void> {
  if (stopping) return
  stopping = true
  const timer = setTimeout(() => { process.exit(1) }, 8_000)
  timer.unref()
  await node.stop()
  closeSync(handledLog)
  // Let the outcomes of messages that stop() failed reach the parent before the channel closes.
  process.send?.({ op: 'stopped' }, () => { process.exit(0) })
  if (process.send === undefined) process.exit(0)
}

process.on('message', (raw) => {
  const cmd = raw as NodeCommand
  switch (cmd.op) {
    case 'send':
      answer(cmd.id, node.send(cmd.peer, cmd.type, cmd.payload, { timeoutMs: cmd.timeoutMs }))
      break
    case 'query':
      answer(cmd.id, node.query(cmd.peer, cmd.type, cmd.payload, { timeoutMs: cmd.timeoutMs }))
      break
    case 'addContact':
      answer(cmd.id ?? -1, Promise.resolve().then(() => { node.addContact(decodeContactRecord(Buffer.from(cmd.record, 'base64'))) }))
      break
    case 'record':
      answer(cmd.id, Promise.resolve(recordText()))
      break
    case 'mem':
      answer(cmd.id, Promise.resolve(process.memoryUsage()))
      break
    case 'stop':
      void shutdown()
      break
  }
})
process.on('SIGTERM', () => { void shutdown() })
process.on('disconnect', () => { void shutdown() })
