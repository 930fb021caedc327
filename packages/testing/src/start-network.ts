import type { Announcer, Commstrat, Lookup } from '@egtp/interface'
import type { MemoryCommstrat } from './commstrat.ts'
import { MemoryNetwork } from './network.ts'
import type { MemoryNetworkInit } from './network.ts'

/** What the kit needs of a node: `createNode(...)` of `@egtp/node` gives one. */
export interface NetworkNode {
  readonly nodeId: string
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** The parts each node is built from: spread them into `createNode`. */
export interface NodeParts<D extends Lookup & Announcer> {
  commstrats: Commstrat[]
  lookup: D
  announcer: D
}

export interface StartNetworkOptions<N extends NetworkNode, D extends Lookup & Announcer> {
  /** How many nodes (1 to {@link MAX_NETWORK_NODES}). */
  nodes: number
  /** Build node `index` from its parts, e.g. `(i, parts) => createNode({ ...parts })` (not started yet). */
  node: (index: number, parts: NodeParts<D>) => Promise<N>
  /** Where nodes announce themselves and look each other up, e.g. `memoryDirectory()` of `@egtp/node`. */
  directory: D
  /**
   * `'memory'` (default): each node gets a commstrat on one {@link MemoryNetwork}. Or a factory giving node
   * `index` its commstrat, e.g. `() => tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()`.
   */
  commstrat?: 'memory' | ((index: number) => Commstrat)
  /** The memory network to use, or its init (latency, loss, seed, limits). Memory only. */
  network?: MemoryNetwork | MemoryNetworkInit
  signal?: AbortSignal
}

/** A started set of nodes; `close()` stops them all. */
export interface TestNetwork<N extends NetworkNode, D extends Lookup & Announcer> {
  readonly nodes: N[]
  /** The commstrat of each node, by index. */
  readonly commstrats: Commstrat[]
  readonly directory: D
  /** The memory network (undefined with a commstrat factory). */
  readonly memory: MemoryNetwork | undefined
  /** Cut the nodes of `side` off `other` (default: everyone else). Memory only. */
  partition: (side: readonly N[], other?: readonly N[]) => void
  /** Remove every cut. */
  heal: () => void
  /** Stop every node (in parallel). Idempotent. */
  close: () => Promise<void>
}

/** Most nodes one {@link startNetwork} starts. */
export const MAX_NETWORK_NODES = 256

/**
 * Start `nodes` nodes that find each other through `directory`, on an in-memory network by default.
 * The kit takes the node factory by injection, so it does not depend on `@egtp/node` (whose tests use it).
 * @throws {RangeError} for a node count out of range; rethrows what a node's creation or start throws (the
 *   nodes already started are stopped first) and `signal.reason` on abort
 */
export async function startNetwork<N extends NetworkNode, D extends Lookup & Announcer> (
  options: StartNetworkOptions<N, D>
): Promise<TestNetwork<N, D>> {
  const { nodes: count, directory, signal } = options
  if (!(Number.isSafeInteger(count) && count >= 1 && count <= MAX_NETWORK_NODES)) {
    throw new RangeError(`startNetwork: nodes must be an integer from 1 to ${MAX_NETWORK_NODES}`)
  }
  if (typeof options.node !== 'function') throw new TypeError('startNetwork: node must be a function (index, parts) => Promise<node>')
  signal?.throwIfAborted()
  const factory = options.commstrat ?? 'memory'
  const memory = factory === 'memory'
    ? (options.network instanceof MemoryNetwork ? options.network : new MemoryNetwork(options.network))
    : undefined
  const nodes: N[] = []
  const commstrats: Commstrat[] = []
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= Promise.all(nodes.map(async n => { await n.stop() })).then(() => {})
    return closing
  }
  const memoryOf = (picked: readonly N[]): MemoryCommstrat[] => picked.map(n => {
    const strat = commstrats[nodes.indexOf(n)]
    if (memory === undefined || strat === undefined) throw new TypeError('partition: only nodes of a memory network can be cut off')
    return strat as MemoryCommstrat
  })

  try {
    for (let i = 0; i < count; i++) {
      signal?.throwIfAborted()
      const strat = memory !== undefined ? memory.commstrat() : (factory as (index: number) => Commstrat)(i)
      const node = await options.node(i, { commstrats: [strat], lookup: directory, announcer: directory })
      nodes.push(node)
      commstrats.push(strat)
      await node.start()
    }
  } catch (err) {
    await close().catch(() => {})
    throw err
  }

  return {
    nodes,
    commstrats,
    directory,
    memory,
    partition: (side, other) => { memory?.partition(memoryOf(side), other === undefined ? undefined : memoryOf(other)) },
    heal: () => { memory?.heal() },
    close
  }
}
