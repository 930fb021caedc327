import { memoryNetwork } from '@egtp/testing'
import type { MemoryNetwork } from '@egtp/testing'
import { tcp } from '@egtp/tcp'
import type { TcpInit } from '@egtp/tcp'
import { createNode, memoryDirectory } from '../../src/index.ts'
import type { EgtpNode, MemoryDirectory, NodeInit } from '../../src/index.ts'

export const LISTEN = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]

/** A started node listening on 127.0.0.1 (port 0), registered in `directory`, stopped by `cleanup`. */
export async function startNode (
  directory: MemoryDirectory, cleanup: (fn: () => Promise<void>) => void, init: NodeInit = {}, tcpInit: TcpInit = {}
): Promise<EgtpNode> {
  const node = await createNode({ commstrats: [tcp({ listen: LISTEN, ...tcpInit })()], lookup: directory, announcer: directory, ...init })
  cleanup(async () => { await node.stop() })
  await node.start()
  return node
}

const networks = new WeakMap<MemoryDirectory, MemoryNetwork>()

/** The in-memory network (of @egtp/testing) the nodes of `directory` share. */
export function networkOf (directory: MemoryDirectory): MemoryNetwork {
  let net = networks.get(directory)
  if (net === undefined) networks.set(directory, net = memoryNetwork())
  return net
}

/**
 * As {@link startNode}, on the in-memory network of `directory` instead of sockets: for protocol tests where
 * real sockets add nothing. A node started again gets a new port, as a restarted process on port 0 would.
 */
export async function startMemoryNode (
  directory: MemoryDirectory, cleanup: (fn: () => Promise<void>) => void, init: NodeInit = {}
): Promise<EgtpNode> {
  const node = await createNode({ commstrats: [networkOf(directory).commstrat()], lookup: directory, announcer: directory, ...init })
  cleanup(async () => { await node.stop() })
  await node.start()
  return node
}

export { memoryDirectory }

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Poll `cond` until true, or throw after `timeoutMs`. */
export async function until (cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

export type { EgtpNode, MemoryDirectory }
