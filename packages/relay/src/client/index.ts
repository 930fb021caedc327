/**
 * The relay-client commstrat: `relayClient(init)(components)`.
 * @packageDocumentation
 */
export { relayClient, RelayClient } from './client.ts'
export type { RelayClientComponents, RelayClientEvents, RelayStatus } from './client.ts'
export type { RelayClientInit } from './config.ts'
