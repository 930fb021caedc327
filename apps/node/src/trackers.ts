// `--tracker`, `--bootpage`, `--bootpage-key`: the node's metatracker client (lookup by node ID, relay
// discovery, its own record published and withdrawn), seeded by a bootpage when one is given. The layers
// keep @egtp/node from knowing either package: this is where they meet.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkBootpageSource, createBootpageLoader, parseBootpageKey } from '@egtp/bootpage'
import type { BootpageLoader } from '@egtp/bootpage'
import type { NodeIdentity } from '@egtp/identity'
import type { ComponentLogger, ContactRecord } from '@egtp/interface'
import { contactRecordFromText } from '@egtp/metatracker'
import { trackers } from '@egtp/metatracker/client'
import type { MetatrackerClient } from '@egtp/metatracker/client'
import { ConfigError } from './args.ts'
import type { NodeExtensions } from './compose.ts'

/** Where the node finds its trackers. */
export interface TrackerConfig {
  /** Trackers' signed records (`--tracker`). */
  records: ContactRecord[]
  /** A bootpage (`--bootpage`, `--bootpage-key`): its trackers seed the client, and reseed it when all fail. */
  bootpage?: { urls: string[], key: string } | undefined
  /** Keeps the last good page (DIR/bootpage) when the node has a state directory. */
  stateDir?: string | undefined
}

/**
 * One `--tracker` value: a file holding a signed record in base64 (`DIR/record`, `egtp-node id --record`), or
 * the JSON ready line of `egtp-metatracker` (its `record`), or the base64 text itself. Verified.
 */
export function trackerRecordArg (value: string): ContactRecord {
  try {
    return contactRecordFromText(existsSync(value) ? readFileSync(value, 'utf8') : value)
  } catch (err) {
    throw new ConfigError(`--tracker ${value.slice(0, 64)}: ${(err as Error).message}`)
  }
}

/** Check `--bootpage URL…` and `--bootpage-key KEY` together (the key is required: an unsigned page is worthless). */
export function bootpageArgs (urls: string[], key: string | undefined): TrackerConfig['bootpage'] {
  if (urls.length === 0) {
    if (key !== undefined) throw new ConfigError('--bootpage-key needs --bootpage URL')
    return undefined
  }
  if (key === undefined) throw new ConfigError('--bootpage needs --bootpage-key KEY (the node ID or hex public key that signs the page)')
  try { parseBootpageKey(key) } catch (err) { throw new ConfigError(`--bootpage-key: ${(err as Error).message}`) }
  try { checkBootpageSource({ urls, key }) } catch (err) { throw new ConfigError(`--bootpage: ${(err as Error).message}`) }
  return { urls, key }
}

export interface TrackerClient {
  client: MetatrackerClient
  loader: BootpageLoader | undefined
  extensions: NodeExtensions
}

/** The metatracker client (and bootpage loader) as node extensions; undefined when neither was given. */
export function trackerClient (config: TrackerConfig, identity: NodeIdentity, logger: ComponentLogger): TrackerClient | undefined {
  if (config.records.length === 0 && config.bootpage === undefined) return undefined
  let loader: BootpageLoader | undefined
  try {
    loader = config.bootpage !== undefined
      ? createBootpageLoader({ urls: config.bootpage.urls, key: config.bootpage.key, logger, ...(config.stateDir !== undefined ? { stateDir: join(config.stateDir, 'bootpage') } : {}) })
      : undefined
  } catch (err) {
    throw new ConfigError(`--bootpage: ${(err as Error).message}`)
  }
  const seeds = loader !== undefined ? { seeds: async (o: { signal?: AbortSignal }) => (await loader.load(o)).trackers } : {}
  let client: MetatrackerClient
  try {
    client = trackers({ trackers: config.records, identity, logger, ...seeds })
  } catch (err) {
    throw new ConfigError(`--tracker: ${(err as Error).message}`)
  }
  return {
    client,
    loader,
    extensions: {
      lookups: [client],
      announcers: [client],
      discovery: client,
      attach: (node) => { client.attach(node) },
      stop: async () => { await client.stop(); loader?.close() },
      trackers: () => {
        const stats = client.stats()
        const known = client.trackerIds()
        const ids = [...new Set([...known, ...Object.keys(stats)])]
        return ids.map(nodeId => ({ nodeId, known: known.includes(nodeId), requests: 0, failures: 0, badRecords: 0, ...stats[nodeId] }))
      }
    }
  }
}
