// Real @egtp/node instances reachable only through a relay (no listening socket), for the issue's
// end-to-end tests. A "restart" is a new node instance with the same identity and the same persisted store;
// a "crash" first freezes what the old instance persisted, then cuts it off, as a killed process would be.
import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { MemoryStore } from '@egtp/interface'
import type { KeyValueStore } from '@egtp/interface'
import { createNode, memoryDirectory } from '@egtp/node'
import type { EgtpNode, MemoryDirectory, NodeInit } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import { relayClient } from '../../src/index.ts'
import type { RelayClient, RelayServer } from '../../src/index.ts'
import type { Cleanup } from '../helpers/setup.ts'
import { until } from '../helpers/setup.ts'

export { memoryDirectory }
export type { EgtpNode, MemoryDirectory }

/**
 * One instance's view of a shared "disk". After {@link CrashableStore.crash} its writes never reach the disk,
 * like the writes a killed process had not made yet.
 */
export class CrashableStore implements KeyValueStore {
  readonly #disk: KeyValueStore
  crashed = false

  constructor (disk: KeyValueStore) {
    this.#disk = disk
  }

  async get (key: string): Promise<Uint8Array | undefined> { return await this.#disk.get(key) }
  async put (key: string, value: Uint8Array): Promise<void> { if (!this.crashed) await this.#disk.put(key, value) }
  async delete (key: string): Promise<void> { if (!this.crashed) await this.#disk.delete(key) }
  crash (): void { this.crashed = true }
}

/** What survives a restart: the key and the disk. */
export interface Persisted { identity: NodeIdentity, disk: MemoryStore }

export const persisted = (): Persisted => ({ identity: generateIdentity(), disk: new MemoryStore() })

/** A running node instance and what a crash stops. */
export interface RunningNode {
  node: EgtpNode
  relays: RelayClient
  store: CrashableStore
  /** Kill the instance: nothing it writes or sends from now on happens. Idempotent. */
  crash: () => Promise<void>
}

/**
 * Start a node registered with `relay` (relay-only), announced in `directory`, with `handlers` installed.
 * Resolves once its contact record names the relay.
 */
export async function startRelayOnlyNode (cleanup: Cleanup, relay: RelayServer, directory: MemoryDirectory, p: Persisted,
  setup: (node: EgtpNode) => void, init: NodeInit = {}): Promise<RunningNode> {
  return await startNode(cleanup, relay, directory, p, setup, init, false)
}

/**
 * Start a node that listens on 127.0.0.1 (a new port each time) and sends to relay-only peers through
 * their relay, as the demo's A does. Resolves once its contact record names its TCP endpoint.
 */
export async function startListeningNode (cleanup: Cleanup, relay: RelayServer, directory: MemoryDirectory, p: Persisted,
  setup: (node: EgtpNode) => void, init: NodeInit = {}): Promise<RunningNode> {
  return await startNode(cleanup, relay, directory, p, setup, init, true)
}

async function startNode (cleanup: Cleanup, relay: RelayServer, directory: MemoryDirectory, p: Persisted,
  setup: (node: EgtpNode) => void, init: NodeInit, listen: boolean): Promise<RunningNode> {
  const transport = tcp({ maxConnections: 64, ...(listen ? { listen: [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }] } : {}) })()
  const relays = relayClient({
    relays: listen ? [] : [relay.endpoint()], register: !listen, reconnectMinMs: 10, reconnectMaxMs: 200
  })({ transport, identity: p.identity })
  const store = new CrashableStore(p.disk)
  const node = await createNode({
    identity: p.identity,
    store,
    commstrats: [transport, relays],
    lookup: directory,
    announcer: directory,
    ...init,
    limits: { stopTimeoutMs: 200, ...init.limits }
  })
  setup(node)
  let crashed: Promise<void> | undefined
  const crash = async (): Promise<void> => {
    crashed ??= (async () => {
      store.crash()
      await relays.stop()
      await transport.stop()
      await node.stop()
    })()
    await crashed
  }
  cleanup(crash)
  await node.start()
  const kind = listen ? 'tcp' : 'relay'
  await until(() => node.contactRecord()?.endpoints.some(e => e.kind === kind) === true, 5000, `a contact record naming its ${kind} endpoint`)
  return { node, relays, store, crash }
}

/** The fate of one query of a stream. */
export interface Outcome { seq: number, sentAt: number, settledAt: number, ok: boolean, code?: string }

/**
 * Numbered queries every `intervalMs` from whichever instance `sender()` returns, until `stop()`. Counts
 * every query sent and how each settled.
 */
export function queryStream (sender: () => EgtpNode, to: string, type: string, intervalMs: number, timeoutMs: number): {
  sent: () => number
  pause: () => void
  resume: () => void
  /** Stop sending; resolves with every query that settled within `timeoutMs` and some slack (the rest are lost). */
  stop: () => Promise<Outcome[]>
} {
  const settled: Outcome[] = []
  let seq = 0
  let running = true
  let paused = false
  const loop = (async () => {
    while (running) {
      if (!paused) {
        const n = seq++
        const sentAt = performance.now()
        sender().query(to, type, n, { timeoutMs }).then(
          () => { settled.push({ seq: n, sentAt, settledAt: performance.now(), ok: true }) },
          (err: { code?: string }) => { settled.push({ seq: n, sentAt, settledAt: performance.now(), ok: false, code: err.code ?? 'none' }) }
        )
      }
      await new Promise(resolve => setTimeout(resolve, intervalMs))
    }
  })()
  return {
    sent: () => seq,
    pause: () => { paused = true },
    resume: () => { paused = false },
    stop: async () => {
      running = false
      await loop
      // A query settles by its timeout at the latest; one that has not by then (plus slack) is lost.
      await until(() => settled.length === seq, timeoutMs + 3000, 'every query to settle').catch(() => {})
      return settled.sort((x, y) => x.seq - y.seq)
    }
  }
}

/** Delivered once / reported failed / lost / duplicates of a stream, from both ends' records. */
export function tally (sent: number, outcomes: Outcome[], handled: Map<number, number>): {
  sent: number, deliveredOnce: number, reportedFailed: number, lost: number, duplicates: number, answeredUnhandled: number
} {
  const answered = outcomes.filter(o => o.ok)
  return {
    sent,
    deliveredOnce: answered.filter(o => handled.get(o.seq) === 1).length,
    reportedFailed: outcomes.filter(o => !o.ok && o.code !== undefined && o.code.startsWith('ERR_')).length,
    lost: sent - outcomes.length,
    duplicates: [...handled.values()].filter(n => n > 1).length,
    answeredUnhandled: answered.filter(o => handled.get(o.seq) === undefined).length
  }
}
