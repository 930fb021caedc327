import type { Clock, CommstratEvents, ComponentLogger } from '@egtp/interface'
import type { TrafficCounters } from './conn.ts'

/** Injected dependencies of `tcp()`. */
export interface TcpComponents {
  logger?: ComponentLogger
  /** Drives idle timeouts, reply expectations and the throttle's token buckets. Default: the system clock. */
  clock?: Clock
}

/** A connection as the observer events describe it. */
export interface TcpConnectionInfo {
  id: string
  direction: 'inbound' | 'outbound'
  remoteAddress: string
}

/** Why an inbound connection was closed as soon as it was accepted. */
export type TcpRejectReason = 'maxConnections' | 'maxInboundPerAddress' | 'stopped'

/** Events of `TcpCommstrat`: the Commstrat events plus connection observers. */
export interface TcpCommstratEvents extends CommstratEvents {
  'connection:open': TcpConnectionInfo
  /** `error` is the coded reason when the connection ended by failure (e.g. `ERR_FRAME_TOO_LARGE`). */
  'connection:close': TcpConnectionInfo & { error?: Error }
  /** An inbound connection was closed at once because of `maxConnections` or `maxInboundPerAddress`. */
  'connection:reject': { remoteAddress: string, reason: TcpRejectReason }
}

/** Counters readable with `TcpCommstrat.stats()`. */
export interface TcpStats extends TrafficCounters {
  connections: number
  inbound: number
  outbound: number
  /** Connections owned by the Commstrat side (dialed by `send`, or accepted by `start()`'s listeners). */
  managed: number
  dialing: number
  /** Bytes waiting to be written, over all connections. */
  queuedBytes: number
  rejectedInbound: number
  /** Inbound connections refused at once, by reason. */
  rejectedByReason: Record<TcpRejectReason, number>
  idleClosed: number
  evicted: number
  /** Inbound connections closed because they did not authenticate within `authTimeoutMs`. */
  authTimeouts: number
  /** Connections closed because the peer broke the framing (oversized length, end inside a frame). */
  framingViolations: number
  /** Connections closed because their consumer rejected a frame as garbage (`ReturnPath.reject`). */
  rejectedGarbage: number
  /** Unauthenticated inbound connections closed to make room for a new one (per address or in all). */
  evictedUnauthenticated: number
}
