// egtp-relay's configuration: flags (node:util parseArgs), EGTP_RELAY_* environment, one-line errors.
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  DEFAULT_AUTH_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CLIENTS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUED_BYTES_PER_CLIENT, DEFAULT_MAX_QUEUED_MESSAGES_PER_CLIENT, DEFAULT_MAX_TOTAL_QUEUED_BYTES,
  DEFAULT_MESSAGE_TTL_MS, DEFAULT_REGISTRATION_TTL_MS, DEFAULT_SENDER_BYTES_PER_SECOND, DEFAULT_SENDER_MESSAGES_PER_SECOND
} from '@egtp/relay/defaults'
import type { RelayServerInit } from '@egtp/relay/server'
import { DEFAULT_RELAY_RECORD_TTL_MS } from './constants.ts'

/** Invalid configuration: one line on stderr, exit status 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

type LimitKey = keyof RelayServerInit & (
  'maxMessageBytes' | 'maxQueuedMessagesPerClient' | 'maxQueuedBytesPerClient' | 'maxTotalQueuedBytes' | 'messageTtlMs' |
  'maxClients' | 'registrationTtlMs' | 'maxConnections' | 'senderMessagesPerSecond' | 'senderBytesPerSecond' |
  'authTimeoutMs' | 'idleTimeoutMs')

/** The relay server's limits the command line sets, with what they mean and their library defaults. */
export const LIMIT_FLAGS: ReadonlyArray<{ flag: string, key: LimitKey, help: string, fallback: number }> = [
  { flag: 'max-message-bytes', key: 'maxMessageBytes', help: 'largest message carried', fallback: DEFAULT_MAX_MESSAGE_BYTES },
  { flag: 'max-queued-per-client', key: 'maxQueuedMessagesPerClient', help: 'messages held for one recipient', fallback: DEFAULT_MAX_QUEUED_MESSAGES_PER_CLIENT },
  { flag: 'max-queued-bytes-per-client', key: 'maxQueuedBytesPerClient', help: 'bytes held for one recipient', fallback: DEFAULT_MAX_QUEUED_BYTES_PER_CLIENT },
  { flag: 'max-total-queued-bytes', key: 'maxTotalQueuedBytes', help: 'bytes held for everyone', fallback: DEFAULT_MAX_TOTAL_QUEUED_BYTES },
  { flag: 'message-ttl-ms', key: 'messageTtlMs', help: 'how long an undelivered message is kept (its sender is told)', fallback: DEFAULT_MESSAGE_TTL_MS },
  { flag: 'max-clients', key: 'maxClients', help: 'registered recipients', fallback: DEFAULT_MAX_CLIENTS },
  { flag: 'registration-ttl-ms', key: 'registrationTtlMs', help: 'how long an absent recipient stays registered', fallback: DEFAULT_REGISTRATION_TTL_MS },
  { flag: 'max-connections', key: 'maxConnections', help: 'open connections', fallback: DEFAULT_MAX_CONNECTIONS },
  { flag: 'sender-messages-per-second', key: 'senderMessagesPerSecond', help: 'rate limit per sender', fallback: DEFAULT_SENDER_MESSAGES_PER_SECOND },
  { flag: 'sender-bytes-per-second', key: 'senderBytesPerSecond', help: 'byte rate limit per sender', fallback: DEFAULT_SENDER_BYTES_PER_SECOND },
  { flag: 'auth-timeout-ms', key: 'authTimeoutMs', help: 'time a new connection has to authenticate', fallback: DEFAULT_AUTH_TIMEOUT_MS },
  { flag: 'idle-timeout-ms', key: 'idleTimeoutMs', help: 'an idle connection is closed after this', fallback: DEFAULT_IDLE_TIMEOUT_MS }
]

const envName = (flag: string): string => `EGTP_RELAY_${flag.toUpperCase().replace(/-/g, '_')}`

export const USAGE = `usage: egtp-relay [--listen HOST:PORT] [--announce HOST:PORT] [--state-dir DIR] [--metrics HOST:PORT]
                  [--tracker RECORD]... [--bootpage URL... --bootpage-key KEY] [--record-ttl-ms N]
                  [--key-file FILE] [--data-dir DIR] [--json] [limits…]
Run an EGTP store-and-forward relay. Prints a JSON ready line on stdout; logs on stderr.
  --listen HOST:PORT    where relay clients and senders connect (default 127.0.0.1:0, a free port)
  --announce HOST:PORT  the address clients advertise, when it differs from --listen (NAT, port forward)
  --state-dir DIR       keep the identity (DIR/relay.key, 0600) and the queue (DIR/queue, an fsync'd log) across
                        restarts: a stop or restart loses no queued message. Without it both are in memory only
  --key-file FILE       the identity alone (created 0600 if missing; refused if group or others can read it)
  --data-dir DIR        the queue alone
  --metrics HOST:PORT   serve Prometheus text at /metrics and JSON health at /health (default: off)
  --tracker RECORD      a metatracker's signed contact record: a file (base64, or egtp-metatracker's JSON ready
                        line) or the base64 itself (repeatable). The relay publishes its own signed record
                        (service relay, the --announce or --listen address) there, re-signs it before it
                        expires, and withdraws it on SIGINT/SIGTERM: nodes that pick relays from the trackers find it
  --bootpage URL        a bootpage mirror (repeatable): the trackers come from the signed page
  --bootpage-key KEY    the node ID or hex public key that signs the bootpage (required with --bootpage)
  --record-ttl-ms N     how long the published record is valid; re-signed at half [${DEFAULT_RELAY_RECORD_TTL_MS}]
  --json                logs as JSON lines
  -h, --help            this text
Limits (default in brackets):
${LIMIT_FLAGS.map(l => `  --${l.flag} N`.padEnd(34) + `${l.help} [${l.fallback}]`).join('\n')}
Environment: DEBUG (log namespaces, default "egtp:relay*"); EGTP_RELAY_<FLAG> for each flag, e.g.
EGTP_RELAY_LISTEN, EGTP_RELAY_STATE_DIR, EGTP_RELAY_MAX_CLIENTS; EGTP_RELAY_TRACKERS and EGTP_RELAY_BOOTPAGES
are comma-separated, EGTP_RELAY_BOOTPAGE_KEY, EGTP_RELAY_RECORD_TTL_MS.
Exit status: 0 after SIGINT/SIGTERM, 1 on a runtime failure (e.g. the port is taken), 2 on invalid configuration.`

export interface RelayAppConfig {
  help: boolean
  json: boolean
  listen: { host: string, port: number }
  announce?: { host: string, port: number } | undefined
  keyFile?: string | undefined
  dataDir?: string | undefined
  stateDir?: string | undefined
  metrics?: { host: string, port: number } | undefined
  /** `--tracker` values (files or base64), checked by `publish.ts`. */
  trackers: string[]
  bootpages: string[]
  bootpageKey?: string | undefined
  recordTtlMs?: number | undefined
  limits: Partial<Pick<RelayServerInit, LimitKey>>
}

function hostPort (name: string, value: string | undefined): { host: string, port: number } | undefined {
  if (value === undefined) return undefined
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  if (m === null || Number(m[2]) > 65_535) throw new ConfigError(`${name} must be host:port, got ${JSON.stringify(value)}`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
}

function positiveInt (name: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(value)}`)
  return n
}

const STRING_FLAGS = ['listen', 'announce', 'state-dir', 'key-file', 'data-dir', 'metrics', 'bootpage-key', 'record-ttl-ms', ...LIMIT_FLAGS.map(l => l.flag)]
const LIST_FLAGS = ['tracker', 'bootpage']

export function parseConfig (argv: readonly string[], env: NodeJS.ProcessEnv): RelayAppConfig {
  const options: Record<string, { type: 'string' | 'boolean', short?: string, multiple?: boolean }> = { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }
  for (const f of STRING_FLAGS) options[f] = { type: 'string' }
  for (const f of LIST_FLAGS) options[f] = { type: 'string', multiple: true }
  // `--max-clients -5` is a (bad) value, not an option: parseArgs would call it ambiguous.
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!
    const next = argv[i + 1]
    if (/^--[a-z-]+$/.test(t) && STRING_FLAGS.includes(t.slice(2)) && next !== undefined && /^-\d/.test(next)) { args.push(`${t}=${next}`); i++ } else args.push(t)
  }
  let values: Record<string, string | boolean | string[] | undefined>
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values as typeof values
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0]!)
  }
  const get = (flag: string): string | undefined => (values[flag] as string | undefined) ?? env[envName(flag)]
  const getList = (flag: string, envVar: string): string[] => (values[flag] as string[] | undefined) ?? (env[envVar] ?? '').split(',').filter(v => v !== '')
  const recordTtl = get('record-ttl-ms')
  const stateDir = get('state-dir')
  const limits: RelayAppConfig['limits'] = {}
  for (const l of LIMIT_FLAGS) {
    const v = get(l.flag)
    if (v !== undefined) limits[l.key] = positiveInt(`--${l.flag}`, v)
  }
  return {
    help: values.help === true,
    json: values.json === true,
    listen: hostPort('--listen', get('listen') ?? '127.0.0.1:0')!,
    announce: hostPort('--announce', get('announce')),
    keyFile: get('key-file') ?? (stateDir !== undefined ? join(stateDir, 'relay.key') : undefined),
    dataDir: get('data-dir') ?? (stateDir !== undefined ? join(stateDir, 'queue') : undefined),
    stateDir,
    metrics: hostPort('--metrics', get('metrics')),
    trackers: getList('tracker', 'EGTP_RELAY_TRACKERS'),
    bootpages: getList('bootpage', 'EGTP_RELAY_BOOTPAGES'),
    bootpageKey: get('bootpage-key'),
    recordTtlMs: recordTtl !== undefined ? positiveInt('--record-ttl-ms', recordTtl) : undefined,
    limits
  }
}
