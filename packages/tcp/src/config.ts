import { checkMaxFrameBytes } from '@egtp/codec'
import type { TcpEndpoint } from '@egtp/interface'
import {
  DEFAULT_AUTH_TIMEOUT_MS, DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_EXPECT_REPLY_KEEP_MS, DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_INBOUND_PER_ADDRESS,
  DEFAULT_MAX_QUEUED_BYTES_PER_CONN, DEFAULT_SEND_TIMEOUT_MS, MAX_QUEUED_BYTES_LIMIT, MAX_TIMEOUT_MS
} from './constants.ts'

/** Optional bandwidth limits for one instance (all its connections together). Off unless set. */
export interface TcpThrottleInit {
  /** Inbound bytes per second: reading pauses (the peer's TCP window fills) once the budget is spent. */
  inBytesPerSec?: number
  /** Outbound bytes per second: queued bytes are written as the budget allows. */
  outBytesPerSec?: number
  /** Bucket size, the largest burst (default: one second's worth of each rate). */
  burstBytes?: number
}

/** Construction config of {@link tcp}. Every limit has an exported `DEFAULT_*` constant. */
export interface TcpInit {
  /** What `start()` binds (port 0 picks a free port). Default: nothing (dial-only). */
  listen?: TcpEndpoint[]
  /**
   * Endpoints to advertise instead of the bound ones (behind NAT or a port forward). Default: the bound
   * listeners, leaving out wildcard hosts (`0.0.0.0`, `::`), which peers could not dial.
   */
  announce?: TcpEndpoint[]
  /** Largest frame body, default {@link DEFAULT_MAX_FRAME_BYTES}, at most 16 MiB. */
  maxFrameBytes?: number
  connectTimeoutMs?: number
  /** Close a managed connection unused this long (unless a reply is expected on it). */
  idleTimeoutMs?: number
  /** Open connections of this instance, inbound and outbound, managed or not. */
  maxConnections?: number
  /**
   * Inbound connections from one remote IP address. A new one past it replaces the oldest connection from that
   * address that has not authenticated yet, or is closed at once when every one has.
   */
  maxInboundPerAddress?: number
  /**
   * Time an inbound connection of `start()`'s listeners has to authenticate (its consumer calls
   * `ReturnPath.authenticated()`) before it is closed with `ERR_TIMEOUT`; 0 turns the check off. Default
   * {@link DEFAULT_AUTH_TIMEOUT_MS}. Frames the consumer `reject()`s close their connection at once.
   */
  authTimeoutMs?: number
  /** Backpressure bound per connection (queued frames plus the socket's buffer). */
  maxQueuedBytesPerConn?: number
  /** How long a send waits for room before `ERR_BACKPRESSURE`. */
  sendTimeoutMs?: number
  /** How long a send with `expectReply` keeps its connection from being closed as idle, unless replies arrive. */
  expectReplyKeepMs?: number
  /** Bound on a graceful close before the socket is destroyed. */
  closeTimeoutMs?: number
  throttle?: TcpThrottleInit
}

export type TcpConfig = Required<Omit<TcpInit, 'announce' | 'throttle'>> & Pick<TcpInit, 'announce' | 'throttle'>

function int (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${v}`)
  return v
}

export function checkEndpoint (name: string, endpoint: TcpEndpoint, allowPortZero: boolean): TcpEndpoint {
  if (typeof endpoint !== 'object' || endpoint === null) throw new TypeError(`${name} must be a TcpEndpoint`)
  if (typeof endpoint.host !== 'string' || endpoint.host === '') throw new TypeError(`${name}.host must be a non-empty string`)
  int(`${name}.port`, endpoint.port, 0, allowPortZero ? 0 : 1, 65_535)
  return { kind: 'tcp', host: endpoint.host, port: endpoint.port }
}

/** Fill defaults and validate; programmer mistakes throw `RangeError`/`TypeError`. */
export function resolveConfig (init: TcpInit): TcpConfig {
  const throttle = init.throttle
  if (throttle !== undefined) {
    for (const key of ['inBytesPerSec', 'outBytesPerSec', 'burstBytes'] as const) {
      const v = throttle[key]
      if (v !== undefined && (!Number.isFinite(v) || v < 1)) throw new RangeError(`throttle.${key} must be a number >= 1, got ${v}`)
    }
  }
  const config: TcpConfig = {
    listen: (init.listen ?? []).map((e, i) => checkEndpoint(`listen[${i}]`, e, true)),
    maxFrameBytes: checkMaxFrameBytes(init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
    connectTimeoutMs: int('connectTimeoutMs', init.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
    idleTimeoutMs: int('idleTimeoutMs', init.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
    maxConnections: int('maxConnections', init.maxConnections, DEFAULT_MAX_CONNECTIONS, 1, 1_000_000),
    authTimeoutMs: int('authTimeoutMs', init.authTimeoutMs, DEFAULT_AUTH_TIMEOUT_MS, 0, MAX_TIMEOUT_MS),
    maxInboundPerAddress: int('maxInboundPerAddress', init.maxInboundPerAddress, DEFAULT_MAX_INBOUND_PER_ADDRESS, 1, 1_000_000),
    maxQueuedBytesPerConn: int('maxQueuedBytesPerConn', init.maxQueuedBytesPerConn, DEFAULT_MAX_QUEUED_BYTES_PER_CONN, 1, MAX_QUEUED_BYTES_LIMIT),
    sendTimeoutMs: int('sendTimeoutMs', init.sendTimeoutMs, DEFAULT_SEND_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
    expectReplyKeepMs: int('expectReplyKeepMs', init.expectReplyKeepMs, DEFAULT_EXPECT_REPLY_KEEP_MS, 0, MAX_TIMEOUT_MS),
    closeTimeoutMs: int('closeTimeoutMs', init.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, 1, MAX_TIMEOUT_MS)
  }
  if (init.announce !== undefined) config.announce = init.announce.map((e, i) => checkEndpoint(`announce[${i}]`, e, false))
  if (throttle !== undefined) config.throttle = { ...throttle }
  return config
}
