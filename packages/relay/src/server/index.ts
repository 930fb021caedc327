/**
 * The relay server: `relayServer(init)(components)`, its stats and their Prometheus rendering.
 * @packageDocumentation
 */
export { relayServer, RelayServer } from './server.ts'
export type { RelayServerComponents, RelayServerEvents } from './server.ts'
export type { RelayServerInit } from './config.ts'
export { renderPrometheus } from './metrics.ts'
export { RELAY_NODE_FLAGS } from '../constants.ts'
export type { RelayServerStats } from './metrics.ts'
export type { LogDamage } from './store.ts'
