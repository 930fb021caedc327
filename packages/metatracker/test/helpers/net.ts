import { createContactRecord, generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { ContactRecord, Endpoint } from '@egtp/interface'
import { createNode } from '@egtp/node'
import type { EgtpNode, NodeInit } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import type { TcpCommstrat } from '@egtp/tcp'
import { TRACKER_QUERY_TYPE, answerCodec, requestCodec } from '../../src/protocol.ts'
import type { TrackerAnswer, TrackerRequest } from '../../src/protocol.ts'
import { createTestnet } from '../../src/testing/index.ts'
import type { Testnet, TestnetInit } from '../../src/testing/index.ts'

export type Cleanup = (fn: () => Promise<void> | void) => void

/** A TCP commstrat listening on a free loopback port. */
export const listening = (port = 0): TcpCommstrat => tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port }], maxConnections: 4096, maxInboundPerAddress: 4096 })()
/** A TCP commstrat that only dials out. */
export const dialing = (): TcpCommstrat => tcp({ maxConnections: 4096 })()

export async function testnet (cleanup: Cleanup, init: Partial<TestnetInit> = {}): Promise<Testnet> {
  const net = await createTestnet({ commstrat: () => listening(), ...init })
  cleanup(() => net.stop())
  // Tests do not wait for the last acknowledgements on stop.
  const node = net.node
  net.node = async (nodeInit = {}, client) => await node({ ...nodeInit, limits: { stopTimeoutMs: 200, ...nodeInit.limits } }, client)
  return net
}

/** A started node that talks to trackers by hand (their records added as contacts). */
export async function rawNode (cleanup: Cleanup, trackerRecords: ContactRecord[], init: NodeInit = {}): Promise<EgtpNode> {
  const node = await createNode({ commstrats: [dialing()], ...init, limits: { stopTimeoutMs: 200, ...init.limits } })
  for (const r of trackerRecords) node.addContact(r)
  await node.start()
  cleanup(() => node.stop())
  return node
}

/** One request to a tracker, answered (refusals come back as answers with a code). */
export async function ask (node: EgtpNode, trackerId: string, request: TrackerRequest): Promise<TrackerAnswer> {
  const reply = await node.query(trackerId, TRACKER_QUERY_TYPE, requestCodec.encode(request), { timeoutMs: 5000 })
  return answerCodec.decode(reply as Uint8Array)
}

/** A record of a fresh (or given) identity, valid for `ttlMs`. */
export function record (opts: { identity?: NodeIdentity, seq?: number, ttlMs?: number, endpoints?: Endpoint[], services?: string[], now?: number } = {}): { identity: NodeIdentity, record: ContactRecord } {
  const identity = opts.identity ?? generateIdentity()
  const now = opts.now ?? Date.now()
  return {
    identity,
    record: createContactRecord(identity, {
      seq: opts.seq ?? 1,
      expiresAt: now + (opts.ttlMs ?? 600_000),
      endpoints: opts.endpoints ?? [{ kind: 'tcp', host: '127.0.0.1', port: 9 }],
      services: opts.services ?? []
    })
  }
}

export async function until (cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
