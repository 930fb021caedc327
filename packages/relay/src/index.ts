/**
 * @packageDocumentation
 * EGTP relay: a store-and-forward relay server for nodes that cannot accept connections, and the relay-client
 * commstrat the node uses to be reached through relays and to send through them. Clients prove their node ID
 * with a signed challenge; the relay queues per recipient, delivers in order, forgets a message only when the
 * recipient acknowledged it, and passes on the sender's authenticated node ID, so every relayed message has
 * a return path. Payloads are end-to-end encrypted between nodes: the relay never sees plaintext.
 *
 * @example
 * ```ts
 * import { relayServer, relayClient } from '@egtp/relay'
 * import { tcp } from '@egtp/tcp'
 * import { generateIdentity } from '@egtp/identity'
 *
 * const server = relayServer()({ transport: tcp()(), identity: generateIdentity() })
 * await server.start()
 * const b = relayClient({ relays: [server.endpoint()] })({ transport: tcp()(), identity: generateIdentity() })
 * await b.start() // b is now reachable at b.localEndpoints() once registered
 * ```
 */
export { relayServer, RelayServer, renderPrometheus } from './server/index.ts'
export type { LogDamage, RelayServerComponents, RelayServerEvents, RelayServerInit, RelayServerStats } from './server/index.ts'
export { relayClient, RelayClient } from './client/index.ts'
export type { RelayClientComponents, RelayClientEvents, RelayClientInit, RelayStatus } from './client/index.ts'
export { HELLO_CONTEXT, relayCodec } from './protocol.ts'
export { WORK_CONTEXT, checkWork, solveWork } from './work.ts'
export type { RelayMessage, RelayRole } from './protocol.ts'
export {
  DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_LIMIT, DEFAULT_MAX_QUEUED_MESSAGES_PER_CLIENT,
  DEFAULT_MAX_QUEUED_BYTES_PER_CLIENT, DEFAULT_MAX_TOTAL_QUEUED_BYTES, DEFAULT_MESSAGE_TTL_MS, DEFAULT_MAX_CLIENTS,
  DEFAULT_REGISTRATION_TTL_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_SENDER_MESSAGES_PER_SECOND,
  DEFAULT_SENDER_BYTES_PER_SECOND, DEFAULT_AUTH_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_INFLIGHT_MESSAGES,
  DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_CONTROL_BACKLOG, DEFAULT_SWEEP_INTERVAL_MS,
  DEFAULT_COMPACT_INTERVAL_MS, DEFAULT_COMPACT_MIN_BYTES, DEFAULT_MAX_RELAYS, DEFAULT_RECONNECT_MIN_MS,
  DEFAULT_RECONNECT_MAX_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_SEND_TIMEOUT_MS, DEFAULT_MAX_PENDING_SENDS,
  DEFAULT_MAX_PENDING_SEND_BYTES, DEFAULT_MAX_INFLIGHT_SENDS, DEFAULT_MAX_TRACKED_DELIVERIES,
  DEFAULT_MAX_TRACKED_DELIVERY_BYTES, DEFAULT_KEEPALIVE_MS, DEFAULT_MAX_SENDER_LINKS, DEFAULT_SENDER_IDLE_MS,
  DEFAULT_SHOP_INTERVAL_MS, DEFAULT_MAX_RELAY_FAILURES, DEFAULT_RELAY_BAN_MS, RELAY_NODE_FLAGS,
  DEFAULT_MAX_CLIENTS_PER_SOURCE, DEFAULT_WORK_BITS, DEFAULT_WORK_LOAD_PERCENT, DEFAULT_WORK_NEW_CLIENTS_PER_SECOND
} from './constants.ts'
