import { verifyContactRecord } from '@egtp/identity'
import { DIRECT_ENDPOINT_COST, EgtpError, bytesEqual, isAbortError } from '@egtp/interface'
import type { Commstrat, ContactRecord, Endpoint, ReturnPath } from '@egtp/interface'
import { MAX_EARLIER_PATHS_PER_PEER } from './constants.ts'
import type { NodeContext } from './context.ts'
import { PeerOutbound } from './outbound.ts'
import { PeerTx } from './peer-tx.ts'

/** An endpoint of a peer's record with the commstrat that claims it. */
export interface Route {
  readonly endpoint: Endpoint
  readonly strat: Commstrat
}

/** No routes: shared by every peer whose record has none (a client's, without listeners). */
const NO_ROUTES: readonly Route[] = Object.freeze([])

/** A monotonic time rounded up to whole ms (a small integer in an object: see {@link PeerContact}). */
const wholeMs = (monotonicMs: number): number => Math.ceil(monotonicMs)

/**
 * How to reach one peer: its key, newest verified record (with its routes ranked by commstrat cost), the
 * path its last authenticated frame came by, its lookup state and clock-window refusal. Written only through
 * its own methods, by the peer table (records, lookups), the receiver (paths) and the router (dead paths).
 */
export class PeerContact {
  #publicKey: Uint8Array | undefined
  #record: ContactRecord | undefined
  #routes: readonly Route[] = NO_ROUTES
  // The times are whole monotonic ms (rounded up, {@link wholeMs}), undefined for never: small integers inside
  // the object, where a fraction or -Infinity would cost a 16-byte heap number each, per peer.
  /** When the record was learned or last confirmed by a lookup. */
  #checkedAt: number | undefined
  #returnPath: ReturnPath | undefined
  /**
   * Closable paths the peer's frames came on before `returnPath` that were still open when it changed (the
   * peer redialled while our end of its old connection lives on, as after a cut link): `disconnect` closes them
   * too. At most {@link MAX_EARLIER_PATHS_PER_PEER}; undefined until a path is replaced.
   */
  #earlierPaths: ReturnPath[] | undefined
  /** When the last authenticated frame (on `returnPath`) came. */
  #heardAt: number | undefined
  #connected = false
  #clockSkew: { skewMs: number } | undefined
  #lastLookupAt: number | undefined
  #lookup: Promise<boolean> | undefined

  get publicKey (): Uint8Array | undefined { return this.#publicKey }
  /** The newest verified contact record. */
  get record (): ContactRecord | undefined { return this.#record }
  /** The record's endpoints some commstrat can send to, cheapest first (stable among equals). */
  get routes (): readonly Route[] { return this.#routes }
  /** The path the last authenticated frame came on (preferred while usable: an open connection first). */
  get returnPath (): ReturnPath | undefined { return this.#returnPath }
  /** The last signed clock-window refusal from this peer, until a session with it is confirmed. */
  get clockSkew (): { skewMs: number } | undefined { return this.#clockSkew }
  get lookingUp (): boolean { return this.#lookup !== undefined }

  learnKey (publicKey: Uint8Array): void {
    this.#publicKey ??= publicKey
  }

  /** Monotonic ms since the last authenticated frame from the peer. */
  silentForMs (monotonicNow: number): number {
    return this.#heardAt === undefined ? Infinity : monotonicNow - this.#heardAt
  }

  /** An authenticated frame came on `path`: it is the way back. True the first time (a `peer:connect`). */
  heardOn (path: ReturnPath, monotonicNow: number): boolean {
    const previous = this.#returnPath
    if (previous !== path) {
      if (previous?.close !== undefined && previous.usable()) this.#keepEarlier(previous)
      this.#returnPath = path
    }
    this.#heardAt = wholeMs(monotonicNow)
    if (this.#connected) return false
    this.#connected = true
    return true
  }

  /** `path` failed or closed: forget it (unless a newer one replaced it meanwhile). */
  dropPath (path: ReturnPath | undefined): void {
    if (this.#returnPath === path) this.#returnPath = undefined
  }

  #keepEarlier (path: ReturnPath): void {
    const kept = this.#earlierPaths ??= []
    if (kept.includes(path)) return // two live paths taking turns
    for (let i = kept.length - 1; i >= 0; i--) if (!kept[i]!.usable()) kept.splice(i, 1)
    if (kept.length >= MAX_EARLIER_PATHS_PER_PEER) kept.shift()
    kept.push(path)
  }

  /**
   * `disconnect`: the way back is closed and the next frame counts as a new connection.
   * @returns the paths to close: the way back and the earlier ones still open
   */
  disconnected (): ReturnPath[] {
    const paths = [...(this.#earlierPaths ?? []), ...(this.#returnPath !== undefined ? [this.#returnPath] : [])]
    this.#earlierPaths = undefined
    this.#returnPath = undefined
    this.#connected = false
    return paths.filter(p => p.usable())
  }

  noteClockSkew (skewMs: number): void { this.#clockSkew = { skewMs } }
  clearClockSkew (): void { this.#clockSkew = undefined }

  /** Whether the record is unexpired at `now` (unix ms). */
  hasRecord (now: number): boolean {
    return this.#record !== undefined && this.#record.expiresAt > now
  }

  /** Monotonic ms since the record was learned or a lookup last ran. */
  recordAgeMs (monotonicNow: number): number {
    return monotonicNow - Math.max(this.#checkedAt ?? -Infinity, this.#lastLookupAt ?? -Infinity)
  }

  /** @internal The peer table's: keep a verified record and rank its routes. */
  adopt (record: ContactRecord, commstrats: readonly Commstrat[], monotonicNow: number): void {
    this.#record = record
    this.#publicKey ??= record.publicKey
    this.#checkedAt = wholeMs(monotonicNow)
    const routes: Array<Route & { cost: number }> = []
    for (const endpoint of record.endpoints) {
      const strat = commstrats.find(c => c.canSend(endpoint))
      if (strat !== undefined) routes.push({ endpoint, strat, cost: strat.cost ?? DIRECT_ENDPOINT_COST })
    }
    this.#routes = routes.length === 0 ? NO_ROUTES : routes.sort((a, b) => a.cost - b.cost)
  }

  /** @internal The peer table's: run `lookup` unless one runs or ran within `minIntervalMs` (then undefined). */
  startLookup (monotonicNow: number, minIntervalMs: number, lookup: () => Promise<boolean>): Promise<boolean> | undefined {
    if (this.#lookup !== undefined) return this.#lookup
    if (this.#lastLookupAt !== undefined && monotonicNow - this.#lastLookupAt < minIntervalMs) return undefined
    this.#lastLookupAt = wholeMs(monotonicNow)
    this.#lookup = lookup().finally(() => { this.#lookup = undefined })
    return this.#lookup
  }

  canStartLookup (monotonicNow: number, minIntervalMs: number): boolean {
    return this.#lookup === undefined && (this.#lastLookupAt === undefined || monotonicNow - this.#lastLookupAt >= minIntervalMs)
  }
}

/**
 * Everything the node knows about one peer; each part has one writer (see each class). It is its own
 * {@link PeerContact} (a subclass rather than a field: one object per peer fewer).
 */
export class Peer extends PeerContact {
  readonly id: string
  /** How to reach the peer: this object's own contact state. */
  get contact (): PeerContact {
    return this
  }

  /** Unacknowledged messages (the sender's). */
  readonly out: PeerOutbound
  /** What waits to be packed into batches, and the flush state (the sender's). */
  readonly tx: PeerTx

  constructor (id: string, epoch: Uint8Array, batchBytes: number) {
    super()
    this.id = id
    this.out = new PeerOutbound(epoch)
    this.tx = new PeerTx(batchBytes)
  }
}

/** The bounded peer table; it owns records and lookups. */
export class PeerTable {
  readonly #ctx: NodeContext
  readonly #epoch: Uint8Array
  readonly #peers = new Map<string, Peer>()
  readonly #inUse: (peer: Peer) => boolean

  /** `inUse` says whether something outside the table still needs the peer (a pending query). */
  constructor (ctx: NodeContext, epoch: Uint8Array, inUse: (peer: Peer) => boolean) {
    this.#ctx = ctx
    this.#epoch = epoch
    this.#inUse = inUse
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
        if (this.#idle(v)) {
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

  /** Nothing pending: the peer may be evicted. */
  #idle (p: Peer): boolean {
    return p.out.size === 0 && p.tx.idle() && !p.contact.lookingUp && !this.#inUse(p)
  }

  /** Whether a live verified record of `peer` is at least as new as a record of `nodeId` with `seq` (which has nothing to teach). */
  knowsNoOlder (peer: Peer, nodeId: string, seq: number): boolean {
    const known = peer.contact.record
    return known !== undefined && nodeId === peer.id && known.seq >= seq && known.expiresAt > this.#ctx.clock.now()
  }

  /**
   * Verify `record` (signature, ID = hash of key, expiry, and that it is `peer`'s) and keep it if newer.
   * @returns whether it replaced what was known
   * @throws {EgtpError} ERR_SIGNATURE | ERR_KEY_MISMATCH | ERR_STALE_RECORD | ERR_FIELD
   */
  offerRecord (peer: Peer, record: ContactRecord): boolean {
    const { clock } = this.#ctx
    // Not newer than a live verified one (the same record piggybacked again, or a lookup's answer): nothing to
    // learn, so no signature check (an Ed25519 verification per new session otherwise). A bad record that
    // claims an older seq is ignored.
    if (this.knowsNoOlder(peer, record.nodeId, record.seq)) return false
    // A key the peer's session authenticated (or an earlier verified record carried) is known to be the peer's:
    // a record with that key needs its signature checked, not its key hashed to the node ID again.
    const key = peer.contact.publicKey
    let verified = verifyContactRecord(record, { now: clock.now(), knownPeer: key === undefined ? undefined : { nodeId: peer.id, publicKey: key } })
    if (verified.nodeId !== peer.id) throw new EgtpError('ERR_KEY_MISMATCH', 'contact record is for another node')
    // The key the session already holds and the peer's own ID string, not second copies of the same bytes
    // (~250 and ~50 bytes per peer).
    const publicKey = key !== undefined && bytesEqual(key, verified.publicKey) ? key : verified.publicKey
    verified = { ...verified, nodeId: peer.id, publicKey }
    peer.contact.adopt(verified, this.#ctx.commstrats, clock.monotonic())
    this.#ctx.events.safeDispatch('peer:record', { peerId: peer.id, record: verified })
    return true
  }

  /** Whether {@link lookUp} would run a lookup now. */
  canLookUp (peer: Peer): boolean {
    return this.#ctx.lookup !== undefined && peer.contact.canStartLookup(this.#ctx.clock.monotonic(), this.#ctx.limits.minLookupIntervalMs)
  }

  /**
   * Look the peer up (coalesced with one in flight; at most once per `minLookupIntervalMs`). Resolves true
   * when the lookup found a verified record (kept unless an older one than known), or, when no lookup ran,
   * whether a usable record is known. Never throws: failures are logged.
   */
  async lookUp (peer: Peer): Promise<boolean> {
    const ctx = this.#ctx
    const lookup = ctx.lookup
    const running = lookup === undefined
      ? undefined
      : peer.contact.startLookup(ctx.clock.monotonic(), ctx.limits.minLookupIntervalMs, async () => {
        try {
          const signal = AbortSignal.any([ctx.shutdown, AbortSignal.timeout(ctx.limits.lookupTimeoutMs)])
          const record = await lookup.lookup(peer.id, { signal })
          if (record === undefined) return false
          this.offerRecord(peer, record)
          return true
        } catch (err) {
          if (!isAbortError(err) || !ctx.shutdown.aborted) ctx.log.error('lookup of %s failed: %e', peer.id, err)
          return false
        }
      })
    if (running === undefined) return peer.contact.hasRecord(ctx.clock.now())
    return await running
  }
}
