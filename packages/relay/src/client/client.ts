import { EgtpError, RELAYED_ENDPOINT_COST, TypedEventTarget, disabledLogger, systemClock } from '@egtp/interface'
import type {
  Clock, Commstrat, CommstratEvents, CommstratSendOptions, ComponentLogger, Discovery, EgtpErrorCode, Endpoint, Logger, OutboundFrame,
  RelayEndpoint, Transport
} from '@egtp/interface'
import { nodeIdToBytes } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { resolveClientConfig } from './config.ts'
import type { RelayClientConfig, RelayClientInit } from './config.ts'
import { RelayLink, linkKey } from './link.ts'
import { RelayReturnPath } from './return-path.ts'

/** What the relay client needs: a transport to dial relays, the node's identity, optionally discovery. */
export interface RelayClientComponents {
  transport: Transport
  identity: NodeIdentity
  logger?: ComponentLogger
  clock?: Clock
  /** Finds relays (service `relay`) when the configured ones are not enough, and for relay shopping. */
  discovery?: Discovery
}

export interface RelayClientEvents extends CommstratEvents {
  /** Authenticated with a relay (registered: receiving through it). */
  'relay:ready': { endpoint: RelayEndpoint, registered: boolean }
  /** A relay connection dropped or could not be made. */
  'relay:down': { endpoint: RelayEndpoint, failures: number }
  /**
   * A message the relay had accepted will not be delivered: it expired there (`ERR_TIMEOUT`), or the relay
   * restarted without persistence (`ERR_DELIVERY_UNCERTAIN`). The node's end-to-end acks decide what to resend.
   */
  'relay:undelivered': { peerId: string, endpoint: RelayEndpoint, frame: Uint8Array, code: EgtpErrorCode }
}

/** One relay as the client sees it. */
export interface RelayStatus {
  endpoint: RelayEndpoint
  registered: boolean
  state: 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed'
  failures: number
  received: number
  accepted: number
  pending: number
}

interface Candidate {
  endpoint: RelayEndpoint
  key: string
  order: number
  served: number
  failures: number
  bannedUntil: number
}

/**
 * The relay-client commstrat: registers with relays to be reachable through them, and sends to peers
 * through the relays their contact records name.
 */
export class RelayClient extends TypedEventTarget<RelayClientEvents> implements Commstrat {
  readonly kind = 'relay'
  /** Through a relay: after a peer's direct endpoints. */
  readonly cost = RELAYED_ENDPOINT_COST
  readonly #config: RelayClientConfig
  readonly #transport: Transport
  readonly #identity: NodeIdentity
  readonly #clock: Clock
  readonly #log: Logger
  readonly #discovery: Discovery | undefined
  readonly #links = new Map<string, RelayLink>()
  readonly #candidates = new Map<string, Candidate>()
  #started = false
  #shutdown = new AbortController()
  #tickTimer: ReturnType<typeof setInterval> | undefined
  #shopTimer: ReturnType<typeof setInterval> | undefined
  #shopRetry: ReturnType<typeof setTimeout> | undefined
  #shopRetryMs = 0
  #advertised = ''
  /** The last send's peer and link (see {@link send}). */
  #lastPeer = ''
  #lastTo: Uint8Array | undefined
  #lastLink: RelayLink | undefined
  #lastPath: RelayReturnPath | undefined

  constructor (init: RelayClientInit, components: RelayClientComponents) {
    super()
    this.#config = resolveClientConfig(init)
    this.#transport = components.transport
    this.#identity = components.identity
    this.#clock = components.clock ?? systemClock
    this.#log = (components.logger ?? { forComponent: () => disabledLogger }).forComponent('egtp:relay:client')
    this.#discovery = components.discovery
    for (const endpoint of this.#config.relays) this.#addCandidate(endpoint)
  }

  async start (): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#shutdown = new AbortController()
    const tickMs = Math.max(10, Math.min(250, Math.floor(this.#config.sendTimeoutMs / 4), Math.floor(this.#config.keepaliveMs / 4)))
    this.#tickTimer = setInterval(() => { this.#tick() }, tickMs)
    this.#tickTimer.unref()
    if (this.#discovery !== undefined) {
      this.#shopTimer = setInterval(() => { void this.#shop() }, this.#config.shopIntervalMs)
      this.#shopTimer.unref()
      if (this.#config.register && this.#candidates.size < this.#config.maxRelays) await this.#shop()
    }
    this.#fill()
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#shutdown.abort(new EgtpError('ERR_CLOSED', 'relay client stopped'))
    clearInterval(this.#tickTimer)
    clearInterval(this.#shopTimer)
    clearTimeout(this.#shopRetry)
    for (const link of this.#links.values()) link.close()
    this.#links.clear()
    this.#lastLink = undefined
    this.#lastPath = undefined
    this.#updateAdvertised()
  }

  canSend (endpoint: Endpoint): endpoint is RelayEndpoint {
    return endpoint.kind === 'relay' && typeof endpoint.relay === 'string' && endpoint.relay !== '' && typeof endpoint.host === 'string' &&
      endpoint.host !== '' && typeof endpoint.port === 'number' && Number.isInteger(endpoint.port) && endpoint.port > 0 && endpoint.port < 65_536
  }

  /**
   * Hand `frame` for `peerId` to the relay `endpoint` names; resolves once the relay has accepted it.
   * @throws {EgtpError} ERR_UNREACHABLE (relay unreachable), ERR_DELIVERY_UNCERTAIN (written, then the relay
   *   went away unconfirmed), ERR_RELAY_FULL, ERR_RELAY_UNKNOWN_RECIPIENT, ERR_RATE_LIMITED, ERR_FRAME_TOO_LARGE,
   *   ERR_RELAY_REFUSED, ERR_BACKPRESSURE, ERR_LIMIT, ERR_NOT_STARTED (before start), ERR_CLOSED (after stop),
   *   ERR_BAD_NODE_ID; rethrows `signal.reason`
   */
  send (peerId: string, endpoint: Endpoint, frame: OutboundFrame, options?: CommstratSendOptions): Promise<void> {
    // Not async: the link's promise is returned as it is (one promise per message, not two).
    try {
      options?.signal?.throwIfAborted()
      // Consecutive sends usually go to one peer through one relay: reuse the link and the decoded ID.
      const last = this.#lastLink
      const e = endpoint as RelayEndpoint
      const same = last !== undefined && e.kind === 'relay' && e.relay === last.endpoint.relay && e.host === last.endpoint.host && e.port === last.endpoint.port
      if (!same && !this.canSend(endpoint)) throw new TypeError('endpoint must be a relay endpoint { kind: "relay", relay, host, port }')
      if (!this.#started) throw new EgtpError(this.#shutdown.signal.aborted ? 'ERR_CLOSED' : 'ERR_NOT_STARTED', 'relay client is not started')
      let to = this.#lastTo
      if (peerId !== this.#lastPeer || to === undefined) {
        to = nodeIdToBytes(peerId)
        this.#lastPeer = peerId
        this.#lastTo = to
      }
      let link = last
      if (!same || link === undefined || link.state === 'closed' || this.#links.get(link.key) !== link) {
        link = this.#lastLink = this.#linkFor(e)
      }
      return link.send(to, frame, options?.signal)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** "Reach me through relay R": the registered relays that have accepted this node. */
  localEndpoints (): Endpoint[] {
    return this.#registered().filter(l => l.everReady).map(l => ({ ...l.endpoint }))
  }

  /** Every relay link and how it is doing. */
  relays (): RelayStatus[] {
    return [...this.#links.values()].map(l => ({
      endpoint: { ...l.endpoint },
      registered: l.register,
      state: l.state,
      failures: l.failures,
      received: l.received,
      accepted: l.accepted,
      pending: l.pending
    }))
  }

  // ---- links ----

  #registered (): RelayLink[] {
    return [...this.#links.values()].filter(l => l.register && l.state !== 'closed')
  }

  #newLink (endpoint: RelayEndpoint, register: boolean): RelayLink {
    const link = new RelayLink(endpoint, register, {
      config: this.#config,
      transport: this.#transport,
      identity: this.#identity,
      clock: this.#clock,
      log: this.#log,
      track: this.#config.trackDelivery,
      hooks: {
        deliver: (l, from, fromBytes, payload) => { this.#deliver(l, from, fromBytes, payload) },
        undelivered: (l, peerId, frame, code) => {
          this.safeDispatch('relay:undelivered', { peerId, endpoint: { ...l.endpoint }, frame, code })
        },
        stateChange: (l) => { this.#onLinkState(l) }
      }
    })
    this.#links.set(link.key, link)
    return link
  }

  #linkFor (endpoint: RelayEndpoint): RelayLink {
    const key = linkKey(endpoint)
    const existing = this.#links.get(key)
    if (existing !== undefined) return existing
    const senders = [...this.#links.values()].filter(l => !l.register)
    if (senders.length >= this.#config.maxSenderLinks) {
      const idle = senders.filter(l => l.pending === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0]
      if (idle === undefined) throw new EgtpError('ERR_LIMIT', `${senders.length} relay connections are busy`)
      idle.close()
      this.#links.delete(idle.key)
    }
    return this.#newLink(endpoint, false)
  }

  #deliver (link: RelayLink, from: string, fromBytes: Uint8Array, payload: Uint8Array): void {
    if (this.listenerCount('frame') === 0) return
    // A return path holds no per-message state: consecutive messages from one sender share one.
    let path = this.#lastPath
    if (path?.leadsTo(link, from) !== true) path = this.#lastPath = new RelayReturnPath(link, from, fromBytes)
    this.safeDispatch('frame', { frame: payload, path })
  }

  #onLinkState (link: RelayLink): void {
    if (!this.#started || link.state === 'closed') return
    const candidate = this.#candidates.get(link.key)
    if (link.state === 'ready') {
      if (candidate !== undefined) candidate.failures = 0
      this.safeDispatch('relay:ready', { endpoint: { ...link.endpoint }, registered: link.register })
    } else {
      if (candidate !== undefined) candidate.failures = link.failures
      this.safeDispatch('relay:down', { endpoint: { ...link.endpoint }, failures: link.failures })
      // A relay that keeps failing is replaced when another is known.
      if (link.register && link.failures >= this.#config.maxRelayFailures && this.#ranked().length > 0) {
        this.#log('replacing relay %s after %d failures', link.key, link.failures)
        if (candidate !== undefined) candidate.bannedUntil = this.#clock.monotonic() + this.#config.relayBanMs
        link.close(new EgtpError('ERR_UNREACHABLE', `relay ${link.key} was replaced after repeated failures`, { retryable: true, scope: 'endpoint' }))
        this.#links.delete(link.key)
        this.#fill()
      }
    }
    this.#updateAdvertised()
  }

  // ---- choosing relays ----

  #addCandidate (endpoint: RelayEndpoint): void {
    const key = linkKey(endpoint)
    if (this.#candidates.has(key) || endpoint.relay === this.#identity.nodeId) return
    this.#candidates.set(key, { endpoint, key, order: this.#candidates.size, served: 0, failures: 0, bannedUntil: 0 })
  }

  /** Usable candidates not registered yet, best first: fewest recent failures, most served, configured order. */
  #ranked (): Candidate[] {
    const now = this.#clock.monotonic()
    return [...this.#candidates.values()]
      .filter(c => c.bannedUntil <= now && this.#links.get(c.key)?.register !== true)
      .map(c => {
        const l = this.#links.get(c.key)
        if (l !== undefined) c.served = Math.max(c.served, l.received + l.accepted)
        return c
      })
      .sort((a, b) => a.failures - b.failures || b.served - a.served || a.order - b.order)
  }

  #fill (): void {
    if (!this.#started || !this.#config.register) return
    let need = this.#config.maxRelays - this.#registered().length
    for (const c of this.#ranked()) {
      if (need <= 0) break
      need--
      const existing = this.#links.get(c.key)
      if (existing !== undefined) existing.upgrade()
      else this.#newLink(c.endpoint, true).connect()
    }
  }

  /** v1's "relay shopping": ask discovery for relays, fill empty slots, replace failing ones. */
  async #shop (): Promise<void> {
    const discovery = this.#discovery
    if (discovery === undefined || !this.#started) return
    try {
      const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(this.#config.connectTimeoutMs)])
      const records = await discovery.discover('relay', { signal, limit: 32 })
      for (const r of records) {
        for (const e of r.endpoints) if (e.kind === 'tcp' && typeof e.host === 'string' && typeof e.port === 'number') this.#addCandidate({ kind: 'relay', relay: r.nodeId, host: e.host, port: e.port })
      }
    } catch (err) {
      this.#log('relay discovery failed: %s', (err as Error).message)
    }
    if (!this.#started) return
    for (const link of this.#registered()) {
      if (link.state === 'backoff' && this.#ranked().length > 0) {
        link.close(new EgtpError('ERR_UNREACHABLE', `relay ${link.key} replaced`, { retryable: true, scope: 'endpoint' }))
        this.#links.delete(link.key)
      }
    }
    this.#fill()
    this.#updateAdvertised()
    // Discovery found no relay to add (e.g. it was asked before the node could send): ask again soon,
    // backing off to the shop interval, rather than a whole interval later.
    if (this.#config.register && this.#registered().length < this.#config.maxRelays && this.#ranked().length === 0) {
      this.#shopRetryMs = Math.min(Math.max(this.#config.reconnectMinMs, this.#shopRetryMs * 2), this.#config.shopIntervalMs)
      clearTimeout(this.#shopRetry)
      this.#shopRetry = setTimeout(() => { void this.#shop() }, this.#shopRetryMs)
      this.#shopRetry.unref()
    } else {
      this.#shopRetryMs = 0
    }
  }

  #tick (): void {
    const now = this.#clock.monotonic()
    for (const link of [...this.#links.values()]) {
      link.tick(now)
      if (!link.register && link.pending === 0 && now - link.lastUsed > this.#config.senderIdleMs) {
        link.close()
        this.#links.delete(link.key)
      }
    }
  }

  #updateAdvertised (): void {
    const endpoints = this.localEndpoints()
    const key = endpoints.map(e => linkKey(e as RelayEndpoint)).join(',')
    if (key === this.#advertised) return
    this.#advertised = key
    this.safeDispatch('endpoints:change', endpoints)
  }
}

/**
 * Create the relay-client commstrat: `relayClient(init)(components)`.
 * @example
 * ```ts
 * const relays = relayClient({ relays: [server.endpoint()] })({ transport: tcp()(), identity })
 * await relays.start()
 * relays.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame) })
 * ```
 */
export function relayClient (init: RelayClientInit = {}): (components: RelayClientComponents) => RelayClient {
  return (components) => new RelayClient(init, components)
}
