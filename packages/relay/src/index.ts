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
export type { RelayMessage, RelayRole } from './protocol.ts'
export { RELAY_NODE_FLAGS } from './constants.ts'
// The defaults of every limit (`DEFAULT_*`, documented by RelayServerInit and RelayClientInit) are exported by
// `@egtp/relay/defaults`.
