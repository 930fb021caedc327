import type { RelayEndpoint } from '@egtp/interface'
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_KEEPALIVE_MS, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_INFLIGHT_SENDS,
  DEFAULT_MAX_PENDING_SEND_BYTES, DEFAULT_MAX_PENDING_SENDS, DEFAULT_MAX_RELAY_FAILURES, DEFAULT_MAX_RELAYS,
  DEFAULT_MAX_SENDER_LINKS, DEFAULT_MAX_TRACKED_DELIVERIES, DEFAULT_MAX_TRACKED_DELIVERY_BYTES,
  DEFAULT_RECONNECT_MAX_MS, DEFAULT_RECONNECT_MIN_MS, DEFAULT_RELAY_BAN_MS, DEFAULT_SEND_TIMEOUT_MS,
  DEFAULT_SENDER_IDLE_MS, DEFAULT_SHOP_INTERVAL_MS
} from '../constants.ts'

/**
 * Construction config of {@link relayClient}. Every limit left out takes its default: the `DEFAULT_*` constant of
 * the same name in `@egtp/relay/defaults` (README, "Limits & security").
 */
export interface RelayClientInit {
  /** Relays to register with, in order of preference (`kind` may be left out). */
  relays?: Array<RelayEndpoint | Omit<RelayEndpoint, 'kind'>>
  /** Register with relays to receive through them (default true); false makes a send-only client. */
  register?: boolean
  /** Relays registered with at once. */
  maxRelays?: number
  /** Ask relays for delivered notices, to report accepted messages a relay later loses (default true). */
  trackDelivery?: boolean
  reconnectMinMs?: number
  reconnectMaxMs?: number
  connectTimeoutMs?: number
  sendTimeoutMs?: number
  maxPendingSends?: number
  maxPendingSendBytes?: number
  maxInflightSends?: number
  maxTrackedDeliveries?: number
  maxTrackedDeliveryBytes?: number
  maxBatchBytes?: number
  keepaliveMs?: number
  maxSenderLinks?: number
  senderIdleMs?: number
  shopIntervalMs?: number
  maxRelayFailures?: number
  relayBanMs?: number
}

export type RelayClientConfig = Required<Omit<RelayClientInit, 'relays'>> & { relays: RelayEndpoint[] }

function int (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${v}`)
  return v
}

const HOUR_MS = 3_600_000

export function resolveClientConfig (init: RelayClientInit): RelayClientConfig {
  const relays = (init.relays ?? []).map((r, i): RelayEndpoint => {
    if (typeof r !== 'object' || r === null || typeof r.relay !== 'string' || typeof r.host !== 'string' || r.host === '') {
      throw new TypeError(`relays[${i}] must be { relay, host, port }`)
    }
    int(`relays[${i}].port`, r.port, 0, 1, 65_535)
    return { kind: 'relay', relay: r.relay, host: r.host, port: r.port }
  })
  const reconnectMinMs = int('reconnectMinMs', init.reconnectMinMs, DEFAULT_RECONNECT_MIN_MS, 1, HOUR_MS)
  return {
    relays,
    register: init.register ?? true,
    maxRelays: int('maxRelays', init.maxRelays, DEFAULT_MAX_RELAYS, 1, 64),
    trackDelivery: init.trackDelivery ?? true,
    reconnectMinMs,
    reconnectMaxMs: int('reconnectMaxMs', init.reconnectMaxMs, DEFAULT_RECONNECT_MAX_MS, reconnectMinMs, HOUR_MS),
    connectTimeoutMs: int('connectTimeoutMs', init.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 1, HOUR_MS),
    sendTimeoutMs: int('sendTimeoutMs', init.sendTimeoutMs, DEFAULT_SEND_TIMEOUT_MS, 1, HOUR_MS),
    maxPendingSends: int('maxPendingSends', init.maxPendingSends, DEFAULT_MAX_PENDING_SENDS, 1, 10_000_000),
    maxPendingSendBytes: int('maxPendingSendBytes', init.maxPendingSendBytes, DEFAULT_MAX_PENDING_SEND_BYTES, 1, 2 ** 40),
    maxInflightSends: int('maxInflightSends', init.maxInflightSends, DEFAULT_MAX_INFLIGHT_SENDS, 1, 1_000_000),
    maxTrackedDeliveries: int('maxTrackedDeliveries', init.maxTrackedDeliveries, DEFAULT_MAX_TRACKED_DELIVERIES, 1, 10_000_000),
    maxTrackedDeliveryBytes: int('maxTrackedDeliveryBytes', init.maxTrackedDeliveryBytes, DEFAULT_MAX_TRACKED_DELIVERY_BYTES, 1, 2 ** 40),
    maxBatchBytes: int('maxBatchBytes', init.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 1, 8 * 1024 * 1024),
    keepaliveMs: int('keepaliveMs', init.keepaliveMs, DEFAULT_KEEPALIVE_MS, 1, HOUR_MS),
    maxSenderLinks: int('maxSenderLinks', init.maxSenderLinks, DEFAULT_MAX_SENDER_LINKS, 1, 100_000),
    senderIdleMs: int('senderIdleMs', init.senderIdleMs, DEFAULT_SENDER_IDLE_MS, 1, 24 * HOUR_MS),
    shopIntervalMs: int('shopIntervalMs', init.shopIntervalMs, DEFAULT_SHOP_INTERVAL_MS, 1, 24 * HOUR_MS),
    maxRelayFailures: int('maxRelayFailures', init.maxRelayFailures, DEFAULT_MAX_RELAY_FAILURES, 1, 1000),
    relayBanMs: int('relayBanMs', init.relayBanMs, DEFAULT_RELAY_BAN_MS, 0, 24 * HOUR_MS)
  }
}
