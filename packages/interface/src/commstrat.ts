import { uninitializedBytes } from './bytes.ts'
import type { AbortOptions } from './abort.ts'
import type { TypedEventSource, TypedEventTarget } from './events.ts'

/**
 * A way to reach a node, as published in its contact record. Open: `kind` names the commstrat that claims it
 * and that commstrat's `canSend` validates the rest, so a new transport adds its own kind without an edit
 * here. Known kinds: `tcp` ({@link TcpEndpoint}) and `relay` ({@link RelayEndpoint}); what goes on the wire in
 * a contact record is the codec's schema.
 */
export interface Endpoint {
  kind: string
  [field: string]: unknown
}

/** A directly reachable TCP listener. */
export interface TcpEndpoint extends Endpoint {
  kind: 'tcp'
  host: string
  port: number
}

/** "Reach me through the relay server `relay` (a node ID) listening at host:port." */
export interface RelayEndpoint extends Endpoint {
  kind: 'relay'
  relay: string
  host: string
  port: number
}

/**
 * A frame to send: one buffer, or pieces that are written back to back as one frame (a sealed frame whose large
 * messages were encrypted piece by piece goes out without being copied together). Receivers always get one
 * buffer per frame.
 */
export type OutboundFrame = Uint8Array | readonly Uint8Array[]

/** The byte length of an {@link OutboundFrame}; -1 when it is neither a Uint8Array nor an array of them. */
export function outboundFrameBytes (frame: OutboundFrame): number {
  if (frame instanceof Uint8Array) return frame.length
  if (!Array.isArray(frame)) return -1
  let n = 0
  for (const piece of frame) {
    if (!(piece instanceof Uint8Array)) return -1
    n += piece.length
  }
  return n
}

/** An {@link OutboundFrame} as one buffer (pieces are copied together; one buffer is returned as it is). */
export function joinOutboundFrame (frame: OutboundFrame): Uint8Array {
  if (frame instanceof Uint8Array) return frame
  if (frame.length === 1) return frame[0]!
  const out = uninitializedBytes(outboundFrameBytes(frame))
  let pos = 0
  for (const piece of frame) {
    out.set(piece, pos)
    pos += piece.length
  }
  return out
}

/** Why a connection or object closed: `error` is set when it ended by failure; `local` when we closed it. */
export interface CloseDetail {
  error?: Error
  local: boolean
}

export interface ConnEvents extends Record<string, unknown> {
  /** One whole frame, as the peer sent it. */
  message: Uint8Array
  close: CloseDetail
  drain: undefined
}

/**
 * A framed, bidirectional byte-message connection (what a stream transport gives after framing).
 * `send` resolves once the frame is queued within the backpressure bound; it waits, or fails with
 * `ERR_BACKPRESSURE`, past it. `close()` is graceful, `abort()` immediate; both are idempotent.
 */
export interface Conn extends TypedEventSource<ConnEvents> {
  readonly id: string
  readonly direction: 'inbound' | 'outbound'
  /** `host:port` of the other end, for logs and per-address limits. */
  readonly remoteAddress: string
  readonly closed: boolean
  send: (frame: OutboundFrame, options?: FrameSendOptions) => Promise<void>
  close: () => Promise<void>
  abort: (err: Error) => void
  /**
   * The consumer is done with the bytes of a `message` it got (or of any view of them) and no one keeps them:
   * the connection may write a later message into that memory (see `ReturnPath.recycle`). Optional.
   */
  recycle?: (frame: Uint8Array) => void
}

export interface ListenerEvents extends Record<string, unknown> {
  connection: Conn
  close: CloseDetail
}

/** A bound server socket handing out {@link Conn}s. */
export interface Listener extends TypedEventTarget<ListenerEvents> {
  address: () => TcpEndpoint
  close: () => Promise<void>
}

/**
 * The settled promise a send returns when the transport took the frame at once ({@link ReturnPath.reply}): one
 * shared object, so a caller can tell by identity that the send already succeeded and finish its bookkeeping
 * now, without a promise, closures and a microtask per frame.
 */
export const SENT: Promise<void> = Promise.resolve()

/** Options of {@link ReturnPath.reply} and {@link Commstrat.send}. */
export interface FrameSendOptions extends AbortOptions {
  /**
   * Nothing more follows for this connection in this tick: a transport that waits for the tick's end to write
   * its frames together may write at once. Optional hint; ignoring it is correct.
   */
  flushNow?: boolean
}

/** Where an inbound frame came from, and how to answer on the same path. */
export interface ReturnPath {
  /** The commstrat kind it arrived on (`tcp`, `relay`, …). */
  kind: string
  /** For logs only. */
  description: string
  /**
   * The sender's node ID when the path itself authenticated it (a relay that verified its client);
   * `undefined` on raw TCP. Sessions still authenticate every frame end to end.
   */
  authenticatedSender?: string
  /**
   * Where the frame came from as this transport sees it, for per-source limits: the remote IP for tcp,
   * `relay:<relayId>:<authenticated sender>` for a relay. Optional: a path that cannot tell leaves it out.
   */
  source?: string
  /**
   * Send a frame back the way this one came (a relay path reaches the original sender through the relay).
   * Returns {@link SENT} when the path took the frame at once (the caller may treat it as sent without a
   * microtask's wait), else a promise that settles when it did.
   */
  reply: (frame: OutboundFrame, options?: FrameSendOptions) => Promise<void>
  /** False once the path can no longer carry a reply (its connection closed). */
  usable: () => boolean
  /**
   * The consumer calls this when a frame on this path authenticated its sender (it opened under a session).
   * A transport that closes inbound connections which never authenticate (tcp's `authTimeoutMs`) keeps this
   * one open from then on. Optional: paths that were authenticated by other means leave it out.
   */
  authenticated?: () => void
  /**
   * The consumer calls this when a frame on this path was not a protocol frame at all (undecodable): the
   * transport closes the path's connection at once with `error`. Optional: a shared path (a relay) leaves it out.
   */
  reject?: (error: Error) => void
  /**
   * Close the connection this path answers on (gracefully), as when the node disconnects from the peer.
   * Optional: a shared path (a relay, which carries other peers' frames too) leaves it out.
   */
  close?: () => Promise<void>
  /**
   * The consumer calls this when it is done with `frame`'s bytes (a frame that arrived on this path) and keeps no
   * view of them: the transport may then write a later frame into the same memory instead of allocating (tcp
   * does so for large frames it had to reassemble). Call it only as the frame's sole listener, and never for
   * bytes handed on to anyone. Optional: a path that cannot reuse memory leaves it out.
   */
  recycle?: (frame: Uint8Array) => void
}

/** An inbound frame with its path. */
export interface InboundFrame {
  frame: Uint8Array
  path: ReturnPath
}

/** Takes inbound frames by a direct call (see {@link Commstrat.setFrameListener}). */
export type FrameListener = (frame: Uint8Array, path: ReturnPath) => void

export interface CommstratEvents extends Record<string, unknown> {
  /** A frame arrived for this node. */
  frame: InboundFrame
  /** The endpoints this commstrat can be reached on changed (a relay registered, a listener bound). */
  'endpoints:change': Endpoint[]
}

/** Per-send options. `peerId` is the node the frame is for (relays route by it). */
export interface CommstratSendOptions extends FrameSendOptions {
  /** True when a reply is expected on this path: keep its connection open. */
  expectReply?: boolean
}

/** Cost of a direct transport's endpoints (the default {@link Commstrat.cost}). */
export const DIRECT_ENDPOINT_COST = 0
/** Cost of endpoints reached through a relay: tried after direct ones. */
export const RELAYED_ENDPOINT_COST = 10

/**
 * A communication strategy: carries opaque frames to an endpoint of a peer and delivers inbound frames.
 * It knows nothing of sessions. A send fails fast with `ERR_UNREACHABLE` when the bytes cannot leave; what a
 * failure means is the error's `scope` and `retryable` (see `failureScopeOf`).
 */
export interface Commstrat extends TypedEventTarget<CommstratEvents> {
  readonly kind: string
  /**
   * How a node ranks this commstrat's endpoints among a peer's: lower is tried first. Default
   * {@link DIRECT_ENDPOINT_COST}; a relay says {@link RELAYED_ENDPOINT_COST}.
   */
  readonly cost?: number
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Whether this commstrat can use `endpoint`. */
  canSend: (endpoint: Endpoint) => boolean
  /** Send `frame` for node `peerId` via `endpoint`. Fails with `ERR_NOT_STARTED` before `start()`, `ERR_CLOSED` after `stop()`. */
  send: (peerId: string, endpoint: Endpoint, frame: OutboundFrame, options?: CommstratSendOptions) => Promise<void>
  /** Endpoints to advertise in the node's contact record. */
  localEndpoints: () => Endpoint[]
  /**
   * Close this commstrat's own connection to `endpoint` of peer `peerId` (gracefully), if it keeps one: the
   * node disconnects from the peer. Optional: a commstrat whose connections are shared (a relay) leaves it out.
   */
  disconnect?: (peerId: string, endpoint: Endpoint) => Promise<void>
  /**
   * Start opening what a send to `endpoint` will need (a connection), without sending anything, so that the
   * opening overlaps the caller's work before its {@link Commstrat.send} (a node seals a handshake meanwhile).
   * Optional and best effort: it never throws; a failure shows on the send that follows, and a connection
   * no send uses closes when idle.
   */
  prepare?: (peerId: string, endpoint: Endpoint) => void
  /**
   * Optional: hand every inbound frame to `listener` by a direct call (`undefined` removes it), besides the
   * `frame` events, which still reach their listeners. One listener (a node's): a call costs no event object
   * and no `EventTarget` dispatch per frame.
   */
  setFrameListener?: (listener: FrameListener | undefined) => void
}

/** Options for opening a listener. */
export type ListenOptions = AbortOptions

/** Options for dialing. */
export interface DialOptions extends AbortOptions {
  /** Give up connecting after this long (`ERR_UNREACHABLE`). */
  connectTimeoutMs?: number
}

/**
 * A stream transport giving framed connections (TCP today). Services that speak their own protocol over
 * framed connections (the relay server and its client) receive one by injection and never import `node:net`.
 */
export interface Transport {
  /** Open a connection; fails fast with `ERR_UNREACHABLE`. Rethrows the signal's reason on abort. */
  dial: (endpoint: TcpEndpoint, options?: DialOptions) => Promise<Conn>
  /** Bind a listener (port 0 picks a free port; `ERR_ADDRESS_IN_USE` when taken). */
  listen: (endpoint: TcpEndpoint, options?: ListenOptions) => Promise<Listener>
}
