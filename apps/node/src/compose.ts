// Composition of the sample node: identity and state on disk, TCP, the relay client, a directory of peers.
// Extension point: `NodeExtensions` lets a caller add lookup/discovery/announcement sources (a metatracker
// client, peers from a bootpage) and report on them in `status` without touching the rest of the CLI.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { FileKeystore, FileStore, MemoryKeystore, decodeContactRecord, loadOrCreateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { EgtpError, isEgtpError } from '@egtp/interface'
import type { Announcer, Commstrat, ComponentLogger, Discovery, Lookup, RelayEndpoint } from '@egtp/interface'
import { createNode, memoryDirectory } from '@egtp/node'
import type { EgtpNode, MemoryDirectory } from '@egtp/node'
import { relayClient } from '@egtp/relay/client'
import type { RelayClient } from '@egtp/relay/client'
import { tcp } from '@egtp/tcp'
import { ConfigError } from './args.ts'

/** What `run` (and the legacy flag-only invocation) configures. */
export interface NodeConfig {
  listen?: { host: string, port: number } | undefined
  relays: RelayEndpoint[]
  /** The identity file; none: a new identity per run. */
  keyFile?: string | undefined
  /** Session replay state and the de-duplication journal; none: nothing on disk. */
  dataDir?: string | undefined
  clockWindowMs?: number | undefined
  /** `--relay auto`: register with relays found through `extensions.discovery` (the trackers). */
  relayAuto?: boolean | undefined
  /** An identity already loaded (the tracker client signs its goodbye with it); else loaded from `keyFile`. */
  identity?: NodeIdentity | undefined
}

/**
 * Sources of peers beyond the local directory, added by later features (`--tracker`, `--bootpage`).
 * Each is consulted after the directory (lookup), and told about the node's own record (announce).
 */
export interface NodeExtensions {
  lookups?: Lookup[]
  /** The node's discovery, and the relay client's (relay shopping for `--relay auto`). */
  discovery?: Discovery
  announcers?: Announcer[]
  /** Called with the node before it starts (the metatracker client's `attach`). */
  attach?: (node: EgtpNode) => void
  /** Called before the node stops (withdraws the node's record from the trackers). */
  stop?: () => Promise<void>
  /** What `egtp-node status` shows under `trackers`. */
  trackers?: () => unknown[]
}

export interface ComposedNode {
  node: EgtpNode
  identity: NodeIdentity
  directory: MemoryDirectory
  relays: RelayClient
  trackers: () => unknown[]
  /** Stop the extensions, then the node. */
  stop: () => Promise<void>
}

/** Key, data and state problems are configuration problems (exit 2), with the path in one line. */
function configProblem (what: string, err: unknown): ConfigError {
  // Node's fs messages start with their code already ("EACCES: permission denied, mkdir …").
  return new ConfigError(`${what}: ${(err as Error).message}`)
}

export async function loadIdentity (keyFile: string | undefined): Promise<NodeIdentity> {
  try {
    return await loadOrCreateIdentity(keyFile !== undefined ? new FileKeystore(keyFile) : new MemoryKeystore())
  } catch (err) {
    throw configProblem(`key file ${keyFile ?? ''}`, err)
  }
}

/** A peer's signed contact record from a file (base64, as `run` writes it), verified. */
export function readRecordText (file: string, text: string): ReturnType<typeof decodeContactRecord> {
  try {
    return decodeContactRecord(Buffer.from(text.trim(), 'base64'))
  } catch (err) {
    throw new ConfigError(`--peer-record ${file}: ${isEgtpError(err) ? err.message : (err as Error).message}`)
  }
}

export async function composeNode (config: NodeConfig, logger: ComponentLogger, extensions: NodeExtensions = {}): Promise<ComposedNode> {
  let store: FileStore | undefined
  if (config.dataDir !== undefined) {
    try {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
    } catch (err) {
      throw configProblem(`--data-dir ${config.dataDir}`, err)
    }
    store = new FileStore(join(config.dataDir, 'state'))
  }
  const identity = config.identity ?? await loadIdentity(config.keyFile)
  const directory = memoryDirectory()
  const lookups = [directory, ...(extensions.lookups ?? [])]
  const lookup: Lookup = {
    async lookup (nodeId, options) {
      for (const l of lookups) {
        const found = await l.lookup(nodeId, options).catch(() => undefined)
        if (found !== undefined) return found
      }
      return undefined
    }
  }
  const announcers = [directory, ...(extensions.announcers ?? [])]
  const announcer: Announcer = {
    async announce (record, options) {
      await Promise.all(announcers.map(async a => { await a.announce(record, options).catch(() => {}) }))
    }
  }
  const commstrats: Commstrat[] = []
  // One tcp instance serves direct peers and is the relay client's transport.
  const listen = config.listen
  const transport = tcp({ ...(listen !== undefined ? { listen: [{ kind: 'tcp', ...listen }] } : {}) })({ logger })
  commstrats.push(transport)
  // Always able to send through a peer's relay; registers (to receive through relays) only when given some,
  // or with `auto`, with those the discovery (the trackers) offers.
  const relayAuto = config.relayAuto === true && extensions.discovery !== undefined
  const relays = relayClient({ relays: config.relays, register: config.relays.length > 0 || relayAuto })({
    transport, identity, logger, ...(relayAuto ? { discovery: extensions.discovery } : {})
  })
  commstrats.push(relays)
  const node = await createNode({
    identity,
    commstrats,
    lookup,
    announcer,
    ...(extensions.discovery !== undefined ? { discovery: extensions.discovery } : {}),
    ...(store !== undefined ? { store } : {}),
    ...(config.clockWindowMs !== undefined ? { clockWindowMs: config.clockWindowMs } : {}),
    logger
  })
  extensions.attach?.(node)
  const stop = async (): Promise<void> => {
    await extensions.stop?.().catch(() => {})
    await node.stop()
  }
  return { node, identity, directory, relays, trackers: extensions.trackers ?? (() => []), stop }
}

/** Hand a verified record to the node; coded errors for records that fail verification. */
export async function addContact (composed: ComposedNode, recordText: string): Promise<string> {
  let record
  try {
    record = decodeContactRecord(Buffer.from(recordText, 'base64'))
  } catch (err) {
    throw isEgtpError(err) ? err : new EgtpError('ERR_MALFORMED', 'not a contact record', { cause: err })
  }
  await composed.directory.announce(record)
  return record.nodeId
}
