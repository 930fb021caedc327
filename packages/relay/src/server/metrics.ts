/** Counters and gauges of a relay server, for operators. */
export interface RelayServerStats {
  /** Open connections, authenticated or not. */
  connections: number
  authenticated: number
  /** Registered clients, connected or away. */
  clients: number
  connectedClients: number
  queuedMessages: number
  queuedBytes: number
  /** Messages taken into custody since start. */
  accepted: number
  /** Messages acknowledged by their recipient since start. */
  delivered: number
  /** Messages written to recipients (a redelivery after a lost connection counts again). */
  pushed: number
  /** Messages dropped by the TTL (their senders were told when still connected). */
  expired: number
  /** Refusals by code (ERR_RELAY_FULL, ERR_RELAY_UNKNOWN_RECIPIENT, ERR_RATE_LIMITED, ...). */
  refused: Record<string, number>
  authFailures: number
  /** Frames that did not decode as relay messages (each closed its connection). */
  malformedFrames: number
  /** Well-formed frames out of protocol order or meaning (each closed its connection). */
  protocolViolations: number
  /** Connections that did not authenticate within `authTimeoutMs`. */
  authTimeouts: number
  /** Client registrations refused because their source had `maxClientsPerSource`. */
  sourceRefusals: number
  /** Connections whose challenge asked for a proof of work (the relay was under load). */
  workChallenges: number
  /** Registrations refused for a missing or insufficient proof of work. */
  workFailures: number
  /** Away registrations with empty queues given up to make room for new ones. */
  evictedRegistrations: number
  persistent: boolean
  storeBytes: number
  compactions: number
  /** Torn final log records cut off at start. */
  storeRepairs: number
}

interface Metric { name: string, help: string, type: 'gauge' | 'counter', value: (s: RelayServerStats) => number }

const METRICS: Metric[] = [
  { name: 'connections', help: 'Open connections', type: 'gauge', value: s => s.connections },
  { name: 'authenticated_connections', help: 'Authenticated connections', type: 'gauge', value: s => s.authenticated },
  { name: 'clients', help: 'Registered clients, connected or away', type: 'gauge', value: s => s.clients },
  { name: 'connected_clients', help: 'Registered clients with an open connection', type: 'gauge', value: s => s.connectedClients },
  { name: 'queued_messages', help: 'Messages waiting for their recipient', type: 'gauge', value: s => s.queuedMessages },
  { name: 'queued_bytes', help: 'Payload bytes waiting for their recipient', type: 'gauge', value: s => s.queuedBytes },
  { name: 'accepted_total', help: 'Messages accepted into custody', type: 'counter', value: s => s.accepted },
  { name: 'delivered_total', help: 'Messages acknowledged by their recipient', type: 'counter', value: s => s.delivered },
  { name: 'pushed_total', help: 'Messages written to recipients, redeliveries included', type: 'counter', value: s => s.pushed },
  { name: 'expired_total', help: 'Messages dropped after the TTL', type: 'counter', value: s => s.expired },
  { name: 'auth_failures_total', help: 'Failed authentications', type: 'counter', value: s => s.authFailures },
  { name: 'malformed_frames_total', help: 'Frames that did not decode (connection closed)', type: 'counter', value: s => s.malformedFrames },
  { name: 'protocol_violations_total', help: 'Frames against the protocol (connection closed)', type: 'counter', value: s => s.protocolViolations },
  { name: 'auth_timeouts_total', help: 'Connections closed for not authenticating in time', type: 'counter', value: s => s.authTimeouts },
  { name: 'source_refusals_total', help: 'Registrations refused by the per-source limit', type: 'counter', value: s => s.sourceRefusals },
  { name: 'work_challenges_total', help: 'Challenges that asked for a proof of work (under load)', type: 'counter', value: s => s.workChallenges },
  { name: 'work_failures_total', help: 'Registrations refused for a missing or short proof of work', type: 'counter', value: s => s.workFailures },
  { name: 'evicted_registrations_total', help: 'Idle empty registrations given up for new ones', type: 'counter', value: s => s.evictedRegistrations },
  { name: 'persistent', help: '1 when the queue survives restarts', type: 'gauge', value: s => s.persistent ? 1 : 0 },
  { name: 'store_bytes', help: 'Size of the persistent log', type: 'gauge', value: s => s.storeBytes },
  { name: 'store_compactions_total', help: 'Log compactions', type: 'counter', value: s => s.compactions },
  { name: 'store_repairs_total', help: 'Torn final log records cut off at start', type: 'counter', value: s => s.storeRepairs }
]

/**
 * Render stats in the Prometheus text exposition format (version 0.0.4), for an HTTP `/metrics` endpoint.
 * @example
 * ```ts
 * http.createServer((req, res) => { res.setHeader('content-type', 'text/plain; version=0.0.4'); res.end(renderPrometheus(server.stats())) })
 * ```
 */
export function renderPrometheus (stats: RelayServerStats, prefix = 'egtp_relay'): string {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new TypeError('prefix must be a valid Prometheus metric name')
  const lines: string[] = []
  for (const m of METRICS) {
    const name = `${prefix}_${m.name}`
    lines.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} ${m.type}`, `${name} ${m.value(stats)}`)
  }
  const refused = `${prefix}_refused_total`
  lines.push(`# HELP ${refused} Messages or connections refused, by code`, `# TYPE ${refused} counter`)
  for (const [code, n] of Object.entries(stats.refused).sort(([a], [b]) => a.localeCompare(b))) {
    // Codes come from a fixed set, but escape anyway: label values must not break the format.
    lines.push(`${refused}{code="${code.replace(/[\\"\n]/g, c => c === '\n' ? '\\n' : `\\${c}`)}"} ${n}`)
  }
  return lines.join('\n') + '\n'
}
