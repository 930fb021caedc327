import { MAX_RELAY_WORK_BITS } from '@egtp/codec'
import type { TcpEndpoint } from '@egtp/interface'
import {
  DEFAULT_AUTH_TIMEOUT_MS, DEFAULT_COMPACT_INTERVAL_MS, DEFAULT_COMPACT_MIN_BYTES, DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_CLIENTS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONTROL_BACKLOG,
  DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_INFLIGHT_MESSAGES, DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUED_BYTES_PER_CLIENT, DEFAULT_MAX_QUEUED_MESSAGES_PER_CLIENT, DEFAULT_MAX_TOTAL_QUEUED_BYTES,
  DEFAULT_MESSAGE_TTL_MS, DEFAULT_REGISTRATION_TTL_MS, DEFAULT_SENDER_BYTES_PER_SECOND,
  DEFAULT_SENDER_MESSAGES_PER_SECOND, DEFAULT_SWEEP_INTERVAL_MS, MAX_MESSAGE_BYTES_LIMIT,
  DEFAULT_MAX_CLIENTS_PER_SOURCE, DEFAULT_WORK_BITS, DEFAULT_WORK_LOAD_PERCENT, DEFAULT_WORK_NEW_CLIENTS_PER_SECOND
} from '../constants.ts'

/**
 * Construction config of {@link relayServer}. Every limit left out takes its default: the `DEFAULT_*` constant of
 * the same name in `@egtp/relay/defaults` (README, "Limits & security").
 */
export interface RelayServerInit {
  /** Where to listen. Default `127.0.0.1` port 0 (a free port; read it back with `address()`). */
  listen?: TcpEndpoint
  /** The host and port to advertise in `endpoint()` (behind NAT or a port forward). Default: the bound address. */
  announce?: { host: string, port: number }
  /** With a directory, queued messages survive restarts (an fsync'd append-only log). Default: memory only. */
  dataDir?: string
  /** fsync each group commit of the log (default true). Turning it off trades crash safety for speed. */
  fsync?: boolean
  /**
   * When the log is damaged inside (not just a torn tail): true (default) replays what is intact, keeps the
   * damaged file beside it, starts a new epoch and reports what was dropped (`store:repaired`); false refuses
   * to start with ERR_RELAY_STORE and leaves the log untouched.
   */
  repairCorruptStore?: boolean
  maxMessageBytes?: number
  maxQueuedMessagesPerClient?: number
  maxQueuedBytesPerClient?: number
  maxTotalQueuedBytes?: number
  messageTtlMs?: number
  maxClients?: number
  /** Client registrations per source address (IPv4, or IPv6 /64). Default {@link DEFAULT_MAX_CLIENTS_PER_SOURCE}. */
  maxClientsPerSource?: number
  /** Proof-of-work bits asked of new registrations under load (0: never). Default {@link DEFAULT_WORK_BITS}. */
  workBits?: number
  /** Ask for work once registrations fill this % of `maxClients` (0: always). Default {@link DEFAULT_WORK_LOAD_PERCENT}. */
  workLoadPercent?: number
  /** Also ask while more new clients than this registered in the last second. Default {@link DEFAULT_WORK_NEW_CLIENTS_PER_SECOND}. */
  workNewClientsPerSecond?: number
  registrationTtlMs?: number
  maxConnections?: number
  senderMessagesPerSecond?: number
  senderBytesPerSecond?: number
  authTimeoutMs?: number
  idleTimeoutMs?: number
  maxInflightMessages?: number
  maxInflightBytes?: number
  maxBatchBytes?: number
  maxControlBacklog?: number
  sweepIntervalMs?: number
  compactIntervalMs?: number
  compactMinBytes?: number
}

export type RelayServerConfig = Required<Omit<RelayServerInit, 'announce' | 'dataDir'>> & Pick<RelayServerInit, 'announce' | 'dataDir'>

const DAY_MS = 24 * 60 * 60 * 1000

function int (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${v}`)
  return v
}

/** Fill in defaults and validate: programmer mistakes throw `RangeError`/`TypeError`. */
export function resolveServerConfig (init: RelayServerInit): RelayServerConfig {
  const listen = init.listen ?? { kind: 'tcp', host: '127.0.0.1', port: 0 }
  if (typeof listen.host !== 'string' || listen.host === '') throw new TypeError('listen.host must be a non-empty string')
  int('listen.port', listen.port, 0, 0, 65_535)
  if (init.dataDir !== undefined && (typeof init.dataDir !== 'string' || init.dataDir === '')) throw new TypeError('dataDir must be a non-empty string')
  const maxMessageBytes = int('maxMessageBytes', init.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 1, MAX_MESSAGE_BYTES_LIMIT)
  const config: RelayServerConfig = {
    listen: { kind: 'tcp', host: listen.host, port: listen.port },
    fsync: init.fsync ?? true,
    repairCorruptStore: init.repairCorruptStore ?? true,
    maxMessageBytes,
    maxQueuedMessagesPerClient: int('maxQueuedMessagesPerClient', init.maxQueuedMessagesPerClient, DEFAULT_MAX_QUEUED_MESSAGES_PER_CLIENT, 1, 10_000_000),
    maxQueuedBytesPerClient: int('maxQueuedBytesPerClient', init.maxQueuedBytesPerClient, DEFAULT_MAX_QUEUED_BYTES_PER_CLIENT, maxMessageBytes, 2 ** 40),
    maxTotalQueuedBytes: int('maxTotalQueuedBytes', init.maxTotalQueuedBytes, DEFAULT_MAX_TOTAL_QUEUED_BYTES, maxMessageBytes, 2 ** 44),
    messageTtlMs: int('messageTtlMs', init.messageTtlMs, DEFAULT_MESSAGE_TTL_MS, 1, 30 * DAY_MS),
    maxClients: int('maxClients', init.maxClients, DEFAULT_MAX_CLIENTS, 1, 10_000_000),
    maxClientsPerSource: int('maxClientsPerSource', init.maxClientsPerSource, DEFAULT_MAX_CLIENTS_PER_SOURCE, 1, 10_000_000),
    workBits: int('workBits', init.workBits, DEFAULT_WORK_BITS, 0, MAX_RELAY_WORK_BITS),
    workLoadPercent: int('workLoadPercent', init.workLoadPercent, DEFAULT_WORK_LOAD_PERCENT, 0, 100),
    workNewClientsPerSecond: int('workNewClientsPerSecond', init.workNewClientsPerSecond, DEFAULT_WORK_NEW_CLIENTS_PER_SECOND, 1, 1e9),
    registrationTtlMs: int('registrationTtlMs', init.registrationTtlMs, DEFAULT_REGISTRATION_TTL_MS, 1, 365 * DAY_MS),
    maxConnections: int('maxConnections', init.maxConnections, DEFAULT_MAX_CONNECTIONS, 1, 10_000_000),
    senderMessagesPerSecond: int('senderMessagesPerSecond', init.senderMessagesPerSecond, DEFAULT_SENDER_MESSAGES_PER_SECOND, 1, 1e9),
    // Two seconds' budget must hold at least one largest message, or such a message could never pass.
    senderBytesPerSecond: int('senderBytesPerSecond', init.senderBytesPerSecond, DEFAULT_SENDER_BYTES_PER_SECOND, Math.ceil(maxMessageBytes / 2), 2 ** 40),
    authTimeoutMs: int('authTimeoutMs', init.authTimeoutMs, DEFAULT_AUTH_TIMEOUT_MS, 1, 3_600_000),
    idleTimeoutMs: int('idleTimeoutMs', init.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, 1, DAY_MS),
    maxInflightMessages: int('maxInflightMessages', init.maxInflightMessages, DEFAULT_MAX_INFLIGHT_MESSAGES, 1, 1_000_000),
    maxInflightBytes: int('maxInflightBytes', init.maxInflightBytes, DEFAULT_MAX_INFLIGHT_BYTES, 1, 2 ** 32),
    maxBatchBytes: int('maxBatchBytes', init.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 1, 8 * 1024 * 1024),
    maxControlBacklog: int('maxControlBacklog', init.maxControlBacklog, DEFAULT_MAX_CONTROL_BACKLOG, 1, 10_000_000),
    sweepIntervalMs: int('sweepIntervalMs', init.sweepIntervalMs, DEFAULT_SWEEP_INTERVAL_MS, 1, 3_600_000),
    compactIntervalMs: int('compactIntervalMs', init.compactIntervalMs, DEFAULT_COMPACT_INTERVAL_MS, 1, DAY_MS),
    compactMinBytes: int('compactMinBytes', init.compactMinBytes, DEFAULT_COMPACT_MIN_BYTES, 0, 2 ** 44)
  }
  if (init.announce !== undefined) {
    if (typeof init.announce.host !== 'string' || init.announce.host === '') throw new TypeError('announce.host must be a non-empty string')
    int('announce.port', init.announce.port, 0, 1, 65_535)
    config.announce = { host: init.announce.host, port: init.announce.port }
  }
  if (init.dataDir !== undefined) config.dataDir = init.dataDir
  return config
}
