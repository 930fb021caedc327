import { contactRecordFromWire, verifyContactRecord } from '@egtp/identity'
import type { ContactRecordWire } from '@egtp/identity'
import { EgtpError, Fifo, isAbortError, isEgtpError } from '@egtp/interface'
import type { ContactRecord, Endpoint, OutboundFrame, ReturnPath } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import { PeerOutbound } from './outbound.ts'
import type { OutEntry } from './outbound.ts'

/** Everything the node knows about one peer. */
export class Peer {
  readonly id: string
  publicKey: Uint8Array | undefined
  /** The newest verified contact record. */
  record: ContactRecord | undefined
  /** The path the last authenticated frame came on (preferred while usable: an open connection first). */
  returnPath: ReturnPath | undefined
  readonly out: PeerOutbound
  /** Reliable messages waiting to be sealed and sent, in order. */
  readonly queue = new Fifo<OutEntry>()
  /**
   * To acknowledge in the next batch: counters of the peer's stream `ackEpoch` (compact), and other IDs in
   * full; IDs to report uncertain; unreliable messages (error replies).
   */
  ackEpoch: Uint8Array | undefined
  ackCounters: number[] = []
  readonly acks = new Map<string, Uint8Array>()
  readonly uncertain = new Map<string, Uint8Array>()
  readonly control: Uint8Array[] = []
  ackTimer: ReturnType<typeof setTimeout> | undefined
  /** Plaintext bytes received from the peer since our last acknowledgement went out. */
  rxBytesSinceAck = 0
  flushing = false
  flushAgain = false
  flushScheduled = false
  /** Batches handed to a commstrat whose outcome is not known yet (a relay answers once it has accepted them). */
  transmitting = 0
  /** Wakes a flush waiting for a transmit to settle. */
  transmitSettled: (() => void) | undefined
  /** Sequence number of our own record last piggybacked to this peer. */
  ciSentSeq = 0
  lastLookupAt = -Infinity
  lookupPromise: Promise<boolean> | undefined
  connected = false
  pendingQueries = 0
  /** The last signed clock-window refusal from this peer, until a session with it is confirmed. */
  clockSkew: { skewMs: number, at: number } | undefined = undefined
  /** Most bytes per batch to this peer (shrinks when a transport refuses a frame as too large). */
  batchBytes: number

  constructor (id: string, epoch: Uint8Array, batchBytes: number) {
    this.id = id
    this.out = new PeerOutbound(epoch)
    this.batchBytes = batchBytes
  }

  /** Nothing pending: the peer may be evicted from the table. */
  idle (): boolean {
    return this.out.size === 0 && this.queue.length === 0 && this.acks.size === 0 && this.ackCounters.length === 0 && this.uncertain.size === 0 &&
      this.control.length === 0 && !this.flushing && this.transmitting === 0 && this.pendingQueries === 0 && this.lookupPromise === undefined
  }
}

/** The bounded peer table. */
export class PeerTable {
  readonly #ctx: NodeContext
  readonly #epoch: Uint8Array
  readonly #peers = new Map<string, Peer>()

  constructor (ctx: NodeContext, epoch: Uint8Array) {
    this.#ctx = ctx
    this.#epoch = epoch
  }

  get size (): number {
    return this.#peers.size
  }

  get (id: string): Peer | undefined {
    return this.#peers.get(id)
  }

  /** @throws {EgtpError} ERR_LIMIT when the table is full of busy peers */
  getOrCreate (id: string): Peer {
    let p = this.#peers.get(id)
    if (p !== undefined) return p
    if (this.#peers.size >= this.#ctx.limits.maxPeers) {
      for (const [k, v] of this.#peers) {
        if (v.idle()) {
          this.#peers.delete(k)
          break
        }
      }
      if (this.#peers.size >= this.#ctx.limits.maxPeers) throw new EgtpError('ERR_LIMIT', `peer table full (${this.#ctx.limits.maxPeers})`)
    }
    p = new Peer(id, this.#epoch, this.#ctx.limits.maxBatchBytes)
    this.#peers.set(id, p)
    return p
  }

  values (): IterableIterator<Peer> {
    return this.#peers.values()
  }

  /**
   * Verify `record` (signature, ID = hash of key, expiry, and that it is `peer`'s) and keep it if newer.
   * @returns whether it replaced what was known
   * @throws {EgtpError} ERR_SIGNATURE | ERR_KEY_MISMATCH | ERR_STALE_RECORD | ERR_FIELD
   */
  offerRecord (peer: Peer, record: ContactRecord): boolean {
    // Not newer than a live verified one (the same record piggybacked again): nothing to learn, so no signature
    // check (an Ed25519 verification per new session otherwise). A bad record that claims an older seq is ignored.
    if (peer.record !== undefined && record.nodeId === peer.id && peer.record.seq >= record.seq && peer.record.expiresAt > this.#ctx.clock.now()) return false
    const verified = verifyContactRecord(record, { now: this.#ctx.clock.now() })
    if (verified.nodeId !== peer.id) throw new EgtpError('ERR_KEY_MISMATCH', 'contact record is for another node')
    if (peer.record !== undefined && peer.record.seq >= verified.seq && peer.record.expiresAt > this.#ctx.clock.now()) return false
    peer.record = verified
    peer.publicKey ??= verified.publicKey
    this.#ctx.events.safeDispatch('peer:record', { peerId: peer.id, record: verified })
    return true
  }

  /** A piggybacked record (`ci`), from its wire form. */
  offerWireRecord (peer: Peer, wire: ContactRecordWire): boolean {
    return this.offerRecord(peer, contactRecordFromWire(wire))
  }
}

/** Whether a lookup of `peer` would run now (none in flight, none within `minLookupIntervalMs`). */
export function canLookUp (ctx: NodeContext, peer: Peer): boolean {
  return ctx.lookup !== undefined && peer.lookupPromise === undefined &&
    ctx.clock.monotonic() - peer.lastLookupAt >= ctx.limits.minLookupIntervalMs
}

/**
 * Look the peer up (coalesced with one in flight; at most once per `minLookupIntervalMs`). Resolves true
 * when a usable record is known afterwards. Never throws: failures are logged.
 */
export async function lookupPeer (ctx: NodeContext, peers: PeerTable, peer: Peer): Promise<boolean> {
  const lookup = ctx.lookup
  if (lookup === undefined) return hasRecord(ctx, peer)
  if (peer.lookupPromise !== undefined) return await peer.lookupPromise
  const now = ctx.clock.monotonic()
  if (now - peer.lastLookupAt < ctx.limits.minLookupIntervalMs) return hasRecord(ctx, peer)
  peer.lastLookupAt = now
  peer.lookupPromise = (async () => {
    try {
      const signal = AbortSignal.any([ctx.shutdown, AbortSignal.timeout(ctx.limits.lookupTimeoutMs)])
      const record = await lookup.lookup(peer.id, { signal })
      if (record !== undefined) peers.offerRecord(peer, record)
    } catch (err) {
      if (!isAbortError(err) || !ctx.shutdown.aborted) ctx.log.error('lookup of %s failed: %e', peer.id, err)
    } finally {
      peer.lookupPromise = undefined
    }
    return hasRecord(ctx, peer)
  })()
  return await peer.lookupPromise
}

function hasRecord (ctx: NodeContext, peer: Peer): boolean {
  return peer.record !== undefined && peer.record.expiresAt > ctx.clock.now()
}

/** Whether the peer's current record names a relay one of the node's commstrats can send through. */
export function hasRelayRoute (ctx: NodeContext, peer: Peer): boolean {
  const record = peer.record
  if (record === undefined || record.expiresAt <= ctx.clock.now()) return false
  return record.endpoints.some(e => e.kind === 'relay' && ctx.commstrats.some(c => c.canSend(e)))
}

/** Endpoints in preference order: direct ones first, then relays. */
function endpointsOf (record: ContactRecord): Endpoint[] {
  return [...record.endpoints.filter(e => e.kind !== 'relay'), ...record.endpoints.filter(e => e.kind === 'relay')]
}

/** The endpoint cannot reach the peer (a relay it is not registered with counts): try the next, then look it up again. */
const isRouteFailure = (err: unknown): boolean =>
  isEgtpError(err, 'ERR_UNREACHABLE') || isEgtpError(err, 'ERR_CLOSED') || isEgtpError(err, 'ERR_RELAY_UNKNOWN_RECIPIENT')
/** The endpoint works but refuses for now (a full or rate-limiting relay): another endpoint may take it. */
const isRefusal = (err: unknown): boolean =>
  isEgtpError(err, 'ERR_RELAY_FULL') || isEgtpError(err, 'ERR_RATE_LIMITED') || isEgtpError(err, 'ERR_RELAY_REFUSED')

/**
 * Try the record's endpoints in order. Returns false when every one is a dead route; throws the last
 * refusal when some refused and none took the frame (the sender retries it later), or any other error.
 */
async function tryEndpoints (ctx: NodeContext, peer: Peer, frame: OutboundFrame, expectReply: boolean): Promise<boolean> {
  const record = peer.record
  if (record === undefined || record.expiresAt <= ctx.clock.now()) return false
  let refusal: unknown
  for (const endpoint of endpointsOf(record)) {
    const strat = ctx.commstrats.find(c => c.canSend(endpoint))
    if (strat === undefined) continue
    try {
      await strat.send(peer.id, endpoint, frame, { expectReply, signal: ctx.shutdown })
      return true
    } catch (err) {
      if (ctx.shutdown.aborted) throw new EgtpError('ERR_CLOSED', 'node stopped', { cause: err })
      if (isRefusal(err)) refusal = err
      else if (!isRouteFailure(err)) throw err
      ctx.log.trace('%s via %s: %e', peer.id, endpoint.kind, err)
    }
  }
  if (refusal !== undefined) throw refusal
  return false
}

/**
 * Send a sealed frame to `peer`: on the path its last authenticated frame came by while usable, else the
 * newest record's direct endpoints, then its relays. When nothing can carry it (fast fail), forget the
 * address, look the peer up again and try once more (EGTP v1's rule); then fail.
 * @throws {EgtpError} ERR_UNREACHABLE; other transport errors (ERR_BACKPRESSURE, ERR_FRAME_TOO_LARGE, …) pass through
 */
export async function transmit (ctx: NodeContext, peers: PeerTable, peer: Peer, frame: OutboundFrame, expectReply: boolean): Promise<void> {
  const path = peer.returnPath
  if (path !== undefined && path.usable()) {
    try {
      await path.reply(frame, { signal: ctx.shutdown })
      return
    } catch (err) {
      if (ctx.shutdown.aborted) throw new EgtpError('ERR_CLOSED', 'node stopped', { cause: err })
      if (!isRouteFailure(err)) throw err
      if (peer.returnPath === path) peer.returnPath = undefined
    }
  } else if (path !== undefined) {
    peer.returnPath = undefined
  }
  if (peer.record === undefined) await lookupPeer(ctx, peers, peer)
  if (await tryEndpoints(ctx, peer, frame, expectReply)) return
  if (canLookUp(ctx, peer)) {
    // Fast fail: forget the address, look it up again, resend once. The directory may hand back the same
    // record (the peer is down); if it knows nothing, the old record stays for later attempts.
    const known = peer.record
    peer.record = undefined
    const found = await lookupPeer(ctx, peers, peer)
    if (!found && known !== undefined && known.expiresAt > ctx.clock.now()) peer.record = known
    if (found && await tryEndpoints(ctx, peer, frame, expectReply)) return
  }
  throw new EgtpError('ERR_UNREACHABLE', `no way to reach ${peer.id}`)
}
