// `--tracker`, `--bootpage`: the relay publishes its own signed record (service `relay`, its listen or
// announce endpoint) to metatrackers, re-signs it before it expires, and withdraws it with a signed goodbye
// on stop, so that nodes with `--relay auto` discover it. The requests travel through a small client-only
// node with an ephemeral identity: the record and the goodbye are signed by the relay's own key, so which
// node carries them does not matter.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkBootpageSource, createBootpageLoader, parseBootpageKey } from '@egtp/bootpage'
import type { BootpageLoader } from '@egtp/bootpage'
import { createContactRecord, encodeContactRecord } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { ComponentLogger, ContactRecord } from '@egtp/interface'
import { RELAY_SERVICE, contactRecordFromText } from '@egtp/metatracker'
import { trackers } from '@egtp/metatracker/client'
import type { MetatrackerClient } from '@egtp/metatracker/client'
import { createNode } from '@egtp/node'
import type { EgtpNode } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import { ConfigError } from './config.ts'
import { DEFAULT_RELAY_RECORD_TTL_MS } from './constants.ts'


/** A `--tracker` value: a file (base64 record, or egtp-metatracker's JSON ready line) or the base64 itself. */
export function trackerRecordArg (value: string): ContactRecord {
  try {
    return contactRecordFromText(existsSync(value) ? readFileSync(value, 'utf8') : value)
  } catch (err) {
    throw new ConfigError(`--tracker ${value.slice(0, 64)}: ${(err as Error).message}`)
  }
}

/** `--bootpage URL…` with `--bootpage-key KEY` (required together). */
export function bootpageArgs (urls: string[], key: string | undefined): { urls: string[], key: string } | undefined {
  if (urls.length === 0) {
    if (key !== undefined) throw new ConfigError('--bootpage-key needs --bootpage URL')
    return undefined
  }
  if (key === undefined) throw new ConfigError('--bootpage needs --bootpage-key KEY (the node ID or hex public key that signs the page)')
  try { parseBootpageKey(key) } catch (err) { throw new ConfigError(`--bootpage-key: ${(err as Error).message}`) }
  try { checkBootpageSource({ urls, key }) } catch (err) { throw new ConfigError(`--bootpage: ${(err as Error).message}`) }
  return { urls, key }
}

export interface PublishInit {
  identity: NodeIdentity
  /** Where nodes connect to the relay (its announce address, else its listen address). */
  host: string
  port: number
  trackers: ContactRecord[]
  bootpage?: { urls: string[], key: string } | undefined
  /** The bootpage cache goes to DIR/bootpage. */
  stateDir?: string | undefined
  recordTtlMs?: number | undefined
  logger: ComponentLogger
}

export interface RelayPublisher {
  client: MetatrackerClient
  /** The relay's current signed record, base64. */
  recordText: () => string
  /** Withdraw the record (signed goodbye), then stop the carrier node. */
  stop: () => Promise<void>
}

/** Start publishing; resolves once the first publish was tried (a failure is logged and retried, not fatal). */
export async function publishRelayRecord (init: PublishInit): Promise<RelayPublisher> {
  const log = init.logger.forComponent('egtp:relay:publish')
  const ttlMs = init.recordTtlMs ?? DEFAULT_RELAY_RECORD_TTL_MS
  let loader: BootpageLoader | undefined
  try {
    loader = init.bootpage !== undefined
      ? createBootpageLoader({ ...init.bootpage, logger: init.logger, ...(init.stateDir !== undefined ? { stateDir: join(init.stateDir, 'bootpage') } : {}) })
      : undefined
  } catch (err) {
    throw new ConfigError(`--bootpage: ${(err as Error).message}`)
  }
  const client = trackers({
    trackers: init.trackers,
    identity: init.identity,
    logger: init.logger,
    ...(loader !== undefined ? { seeds: async (o: { signal?: AbortSignal }) => (await loader.load(o)).trackers } : {})
  })
  const carrier: EgtpNode = await createNode({ commstrats: [tcp()({ logger: init.logger })], limits: { stopTimeoutMs: 500 }, logger: init.logger })
  client.attach(carrier)
  await carrier.start()

  let record: ContactRecord | undefined
  const sign = (): ContactRecord => {
    const now = Date.now()
    // Never an older seq than the last one, even across restarts: the trackers refuse a stale record.
    const seq = Math.max((record?.seq ?? 0) + 1, now)
    record = createContactRecord(init.identity, { seq, expiresAt: now + ttlMs, endpoints: [{ kind: 'tcp', host: init.host, port: init.port }], services: [RELAY_SERVICE] })
    return record
  }
  const publish = async (): Promise<void> => {
    try {
      await client.announce(sign())
      log('published relay record seq %d to %d tracker(s)', record!.seq, client.trackerIds().length)
    } catch (err) {
      // The client publishes again by itself (backing off); the relay serves meanwhile.
      log.error('publishing the relay record failed (retrying): %e', err)
    }
  }
  await publish()
  const refresh = setInterval(() => { void publish() }, Math.max(1000, Math.floor(ttlMs / 2)))
  refresh.unref()
  return {
    client,
    recordText: () => Buffer.from(encodeContactRecord(record!)).toString('base64'),
    stop: async () => {
      clearInterval(refresh)
      await client.stop()
      loader?.close()
      await carrier.stop()
    }
  }
}
