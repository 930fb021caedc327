import { defineMessage, f } from '../schema.ts'
import { nodeIdField } from './common.ts'

/** Relay protocol messages (PROTOCOL.md §Relay). Filled in by @egtp/relay's protocol. */
export const RelayPing = defineMessage('rp', { id: nodeIdField(), n: f.uint() })

export const relayMessages = [RelayPing] as const
