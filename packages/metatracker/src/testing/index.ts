/**
 * An in-process metatracker network for tests (like `hyperdht/testnet`): real nodes, real commstrats you
 * choose (e.g. TCP on 127.0.0.1), one tracker service on each.
 * @packageDocumentation
 */
import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Commstrat, ComponentLogger, ContactRecord } from '@egtp/interface'
import { createNode } from '@egtp/node'
import type { EgtpNode, NodeInit } from '@egtp/node'
import { trackers } from '../client/client.ts'
import type { MetatrackerClient } from '../client/client.ts'
import type { MetatrackerClientInit } from '../client/config.ts'
import type { MetatrackerServerInit } from '../server/config.ts'
import { metatrackerServer } from '../server/server.ts'
import type { MetatrackerServer } from '../server/server.ts'
import type { RecordStore } from '../server/store.ts'
import { TRACKER_SERVICE } from '../protocol.ts'

export interface TestnetInit {
  /** Trackers to start (default 3). */
  size?: number
  /** A fresh listening commstrat per tracker node, e.g. `() => tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()`. */
  commstrat: () => Commstrat
  server?: MetatrackerServerInit
  /** A store per tracker (default: each its own memory store). */
  store?: (i: number) => RecordStore
  logger?: ComponentLogger
}

export interface TestTracker { node: EgtpNode, server: MetatrackerServer, record: ContactRecord }

export interface Testnet {
  trackers: TestTracker[]
  /** The trackers' signed records: what a client bootstraps from. */
  records: () => ContactRecord[]
  /**
   * A node that uses the testnet for lookup, discovery and announcing (attached, not started).
   * `init.commstrats` as for createNode; the client is stopped with the testnet.
   */
  node: (init?: NodeInit, client?: Omit<MetatrackerClientInit, 'trackers' | 'identity'>) => Promise<{ node: EgtpNode, client: MetatrackerClient, identity: NodeIdentity }>
  /** Stop every node made by `node` (goodbye first), then the trackers. */
  stop: () => Promise<void>
}

/** Start `size` trackers, each a real node with a server on it. */
export async function createTestnet (init: TestnetInit): Promise<Testnet> {
  const started: TestTracker[] = []
  const made: Array<{ node: EgtpNode, client: MetatrackerClient }> = []
  const stop = async (): Promise<void> => {
    await Promise.allSettled(made.map(async m => { await m.client.stop(); await m.node.stop() }))
    await Promise.allSettled(started.map(async t => { await t.server.stop(); await t.node.stop() }))
  }
  try {
    for (let i = 0; i < (init.size ?? 3); i++) {
      const node = await createNode({ commstrats: [init.commstrat()], services: [TRACKER_SERVICE], ...(init.logger !== undefined ? { logger: init.logger } : {}) })
      const server = metatrackerServer(init.server)({ node, ...(init.store !== undefined ? { store: init.store(i) } : {}) })
      await node.start()
      await server.start()
      started.push({ node, server, record: node.contactRecord()! })
    }
  } catch (err) {
    await stop()
    throw err
  }
  const records = (): ContactRecord[] => started.map(t => t.node.contactRecord() ?? t.record)
  return {
    trackers: started,
    records,
    node: async (nodeInit = {}, clientInit = {}) => {
      const identity = nodeInit.identity ?? generateIdentity()
      const client = trackers({ ...clientInit, trackers: records(), identity })
      const node = await createNode({ ...nodeInit, identity, lookup: client, discovery: client, announcer: client })
      client.attach(node)
      made.push({ node, client })
      return { node, client, identity }
    },
    stop
  }
}
