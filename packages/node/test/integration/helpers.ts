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
