import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileKeystore, FileStore } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { createNode } from '../../src/index.ts'
import type { EgtpNode, MemoryDirectory, NodeInit } from '../../src/index.ts'
import { LISTEN, sleep } from './helpers.ts'

/**
 * The stated restart recovery bound (README, "Restart recovery bound"): with default limits, traffic resumes
 * within this long after the restarted node is up and its new record is published (ms). Derived from
 * minLookupIntervalMs (1 s) until the peer is looked up again, plus one handshake; measured 30–600 ms on
 * loopback, so a loaded machine has plenty of room.
 */
export const RECOVERY_BOUND_MS = 5000

/** One side of a restart scenario: a node with a persisted key file and data directory, restartable. */
export class Side {
  readonly name: string
  readonly dir: string
  readonly directory: MemoryDirectory
  readonly init: NodeInit
  node: EgtpNode | undefined
  nodeId = ''
  /** Deliveries to this side's handlers, over all its incarnations: key → times delivered. */
  readonly delivered = new Map<string, number>()
  /** When the current incarnation finished starting (performance.now()). */
  startedAt = 0

  constructor (name: string, dir: string, directory: MemoryDirectory, init: NodeInit = {}) {
    this.name = name
    this.dir = dir
    this.directory = directory
    this.init = init
  }

  async start (): Promise<EgtpNode> {
    const node = await createNode({
      keystore: new FileKeystore(join(this.dir, 'key')),
      store: new FileStore(join(this.dir, 'data')),
      commstrats: [tcp({ listen: LISTEN })()],
      lookup: this.directory,
      announcer: this.directory,
      ...this.init
    })
    const note = (p: unknown): void => {
      const key = (p as { key: string }).key
      this.delivered.set(key, (this.delivered.get(key) ?? 0) + 1)
    }
    node.handle('q', (p) => { note(p); return (p as { key: string }).key })
    node.handle('o', (p) => { note(p) })
    await node.start()
    this.nodeId = node.nodeId
    this.node = node
    this.startedAt = performance.now()
    return node
  }

  async stop (): Promise<void> {
    const node = this.node
    this.node = undefined
    await node?.stop()
  }

  async restart (downMs: number): Promise<void> {
    await this.stop()
    await sleep(downMs)
    await this.start()
  }

  duplicates (): number {
    let n = 0
    for (const times of this.delivered.values()) if (times > 1) n += times - 1
    return n
  }
}

export async function tempDir (): Promise<{ path: string, remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'egtp-node-restart-'))
  return { path, remove: async () => { await rm(path, { recursive: true, force: true }) } }
}

export interface Sent {
  key: string
  at: number
  outcome?: string
  settledAt?: number
}

/**
 * A steady stream of queries and one-way messages (alternating) from `from` to `to`, one every `intervalMs`,
 * skipped while `from` is down (its application is down too). Each message's outcome is recorded.
 */
export class Stream {
  readonly sent: Sent[] = []
  readonly #settled: Array<Promise<void>> = []
  #running = true
  readonly #loop: Promise<void>

  constructor (from: Side, to: Side, intervalMs: number, timeoutMs: number) {
    this.#loop = (async () => {
      let i = 0
      while (this.#running) {
        const node = from.node
        if (node !== undefined) {
          const key = `${from.name}>${to.name}#${i++}`
          const s: Sent = { key, at: performance.now() }
          this.sent.push(s)
          const p = i % 2 === 0 ? node.query(to.nodeId, 'q', { key }, { timeoutMs }) : node.send(to.nodeId, 'o', { key }, { timeoutMs })
          this.#settled.push(p.then(() => { s.outcome = 'ok' }, (err: unknown) => { s.outcome = isEgtpError(err) ? err.code : `not coded: ${String(err)}` })
            .finally(() => { s.settledAt = performance.now() }))
        }
        await sleep(intervalMs)
      }
    })()
  }

  /** Stop sending and wait for every outcome. */
  async finish (): Promise<void> {
    this.#running = false
    await this.#loop
    await Promise.all(this.#settled)
  }

  /**
   * How long after `since` traffic resumed: the settle time of the first message sent at or after `since`
   * that was delivered (from then on, every message sent is delivered). Infinity if none.
   */
  recoveryMs (since: number): number {
    const after = this.sent.filter(s => s.at >= since)
    const firstOk = after.findIndex(s => s.outcome === 'ok')
    if (firstOk < 0) return Infinity
    return after[firstOk]!.settledAt! - since
  }

  /** How many messages sent at or after `since` were reported delivered so far. */
  deliveredSince (since: number): number {
    let n = 0
    for (const s of this.sent) if (s.at >= since && s.outcome === 'ok') n++
    return n
  }

  counts (): Record<string, number> {
    const c: Record<string, number> = {}
    for (const s of this.sent) c[s.outcome ?? 'unsettled'] = (c[s.outcome ?? 'unsettled'] ?? 0) + 1
    return c
  }
}
