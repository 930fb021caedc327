// The implementations by name, loaded lazily (a child process imports only the one it serves).
import type { Impl } from './types.ts'

/** Implementations with a client and a server (the AEAD ones are in-process, in aead.ts). */
export const NETWORK_IMPLS = ['raw', 'libp2p', 'hyperswarm', 'egtp', 'egtp@base'] as const
export type NetworkImplName = typeof NETWORK_IMPLS[number]

/** Where each EGTP variant loads from: `undefined` is this workspace. */
export interface EgtpSources { egtp?: string, base?: string }

export async function loadImpl (name: string, sources: EgtpSources): Promise<Impl> {
  switch (name) {
    case 'raw': return (await import('./raw.ts')).rawImpl(1)
    case 'raw-batched': return (await import('./raw.ts')).rawImpl(256)
    case 'hyperswarm': return (await import('./hyperswarm.ts')).hyperswarmImpl()
    case 'libp2p': return (await import('./libp2p.ts')).libp2pImpl()
    case 'egtp':
    case 'egtp@base':
    case 'egtp-batched':
    case 'egtp@base-batched': {
      const { loadEgtp } = await import('./egtp-loader.ts')
      const { egtpImpl, BATCHED_PAYLOADS_PER_SEND } = await import('./egtp.ts')
      const base = name.startsWith('egtp@base')
      const batched = name.endsWith('-batched')
      return egtpImpl(await loadEgtp(base ? sources.base : sources.egtp), base ? 'egtp@base' : 'egtp', batched ? BATCHED_PAYLOADS_PER_SEND : 1)
    }
    default: throw new Error(`unknown implementation ${name}`)
  }
}

/** Arguments that tell a child process where its EGTP comes from. */
export function sourceArgs (sources: EgtpSources): string[] {
  return [...(sources.egtp === undefined ? [] : ['--egtp-from', sources.egtp]), ...(sources.base === undefined ? [] : ['--compare-egtp', sources.base])]
}

export function parseSourceArgs (argv: string[]): EgtpSources {
  const sources: EgtpSources = {}
  const from = argv.indexOf('--egtp-from')
  if (from >= 0) sources.egtp = argv[from + 1]!
  const base = argv.indexOf('--compare-egtp')
  if (base >= 0) sources.base = argv[base + 1]!
  return sources
}
