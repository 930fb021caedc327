import { EgtpError, SENT, failureScopeOf, isEgtpError } from '@egtp/interface'
import type { OutboundFrame, ReturnPath } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import type { Peer, PeerTable } from './peers.ts'

/**
 * Where sealed frames to a peer go: the path its last authenticated frame came by while usable, else its
 * record's routes cheapest first (each commstrat's `cost`), then a fresh lookup. What a failure means is the
 * commstrat's to say (`failureScopeOf`, `retryable`): the router knows no transport.
 */
export class Router {
  readonly #ctx: NodeContext
  readonly #peers: PeerTable
  /** The options of every send (one object, not one per frame); the second for the last frame of a flush. */
  readonly #sendOptions: { signal: AbortSignal }
  readonly #lastOptions: { signal: AbortSignal, flushNow: true }

  constructor (ctx: NodeContext, peers: PeerTable) {
    this.#ctx = ctx
    this.#peers = peers
    this.#sendOptions = { signal: ctx.shutdown }
    this.#lastOptions = { signal: ctx.shutdown, flushNow: true }
  }

  /**
   * Send a sealed frame to `peer` ({@link SENT} when its return path took it at once). When no route takes it, look the peer up again and try once more (EGTP v1's
   * fast fail; at most once per `minLookupIntervalMs`); then fail.
   * @throws {EgtpError} the last `retryable` failure of a route when there was one (the frame waits for its
   *   re-send), else ERR_UNREACHABLE; a failure that is not about the endpoint (ERR_BACKPRESSURE,
   *   ERR_FRAME_TOO_LARGE, a `scope: 'peer'` refusal, …) passes through at once
   * `last`: no other frame to `peer` follows in this tick (the transport may write it at once).
   */
  transmit (peer: Peer, frame: OutboundFrame, expectReply: boolean, last = false): Promise<void> {
    // The common case, a usable return path, costs one promise (none when the path took the frame at once:
    // SENT passes through, for the caller to know it by identity): no async frame around it.
    const path = peer.contact.returnPath
    if (path !== undefined && path.usable()) {
      let sent: Promise<void>
      try {
        sent = path.reply(frame, last ? this.#lastOptions : this.#sendOptions)
      } catch (err) { // a path that throws instead of rejecting
        return this.#pathFailed(peer, path, frame, expectReply, err)
      }
      if (sent === SENT) return SENT
      return sent.then(undefined, (err: unknown) => this.#pathFailed(peer, path, frame, expectReply, err))
    }
    return this.#viaRoutes(peer, frame, expectReply, path)
  }

  async #pathFailed (peer: Peer, path: ReturnPath, frame: OutboundFrame, expectReply: boolean, err: unknown): Promise<void> {
    if (this.#ctx.shutdown.aborted) throw new EgtpError('ERR_CLOSED', 'node stopped', { cause: err })
    if (failureScopeOf(err) !== 'endpoint') throw err
    peer.contact.dropPath(path)
    await this.#viaRoutes(peer, frame, expectReply, undefined)
  }

  /** Without a usable return path (`path`, if any, is dropped): the record's routes, a lookup, then fail. */
  async #viaRoutes (peer: Peer, frame: OutboundFrame, expectReply: boolean, path: ReturnPath | undefined): Promise<void> {
    const contact = peer.contact
    if (path !== undefined) contact.dropPath(path)
    if (contact.record === undefined) await this.#peers.lookUp(peer)
    let temporary = await this.#tryRoutes(peer, frame, expectReply)
    if (temporary === true) return
    // Fast fail: look it up again, resend once. The directory may hand back the same record (the peer is down).
    if (this.#peers.canLookUp(peer) && await this.#peers.lookUp(peer)) {
      const again = await this.#tryRoutes(peer, frame, expectReply)
      if (again === true) return
      temporary = again ?? temporary
    }
    if (temporary !== undefined) throw temporary
    throw new EgtpError('ERR_UNREACHABLE', `no way to reach ${peer.id}`)
  }

  /**
   * A frame to `peer` is about to be sealed: when no open path reaches it, let the cheapest route start
   * connecting now, so that the connection opens while the frame (a handshake initiation) is sealed.
   * @returns whether a commstrat was asked to prepare: the caller then lets the current tick end before it
   *   seals (Node's `net.connect` opens the socket in a `process.nextTick`, which would otherwise wait for the seal)
   */
  prepare (peer: Peer): boolean {
    const contact = peer.contact
    if (contact.returnPath?.usable() === true || !contact.hasRecord(this.#ctx.clock.now())) return false
    const route = contact.routes[0]
    if (route?.strat.prepare === undefined) return false
    route.strat.prepare(peer.id, route.endpoint)
    return true
  }

  /**
   * Send the frames the session manager produced on its tick. A recovery initiation may go to a peer we never
   * exchanged a message with (its initiation was refused before it reached the node): it needs a peer entry
   * to be routed (found through lookup).
   */
  sendSessionFrames (frames: ReadonlyArray<{ peer: { nodeId: string, publicKey: Uint8Array }, frame: Uint8Array }>): void {
    for (const { peer: key, frame } of frames) {
      let peer
      try {
        peer = this.#peers.getOrCreate(key.nodeId)
      } catch (err) {
        this.#ctx.log.trace('session frame to %s not sent: %e', key.nodeId, err)
        continue
      }
      peer.contact.learnKey(key.publicKey)
      this.#sendRaw(peer, frame)
    }
  }

  /** Send a frame the session manager produced (initiation retransmits, keepalives); failures are logged. */
  #sendRaw (peer: Peer, frame: Uint8Array): void {
    this.transmit(peer, frame, false).then(() => {
      this.#ctx.stats.framesSent++
      this.#ctx.stats.bytesSent += frame.length
    }, (err: unknown) => { this.#ctx.log.trace('session frame to %s failed: %e', peer.id, err) })
  }

  /**
   * Messages to `peer` went unacknowledged and are due again. When its record is older than
   * `relookupAfterMs` it is looked up again (in the background): the peer may have moved (to another relay,
   * while the old one still takes its mail). If that finds a newer record and the return path has been silent
   * as long, the path is forgotten too: re-sends then go where the new record says.
   */
  recheck (peer: Peer, now: number): void {
    const contact = peer.contact
    const afterMs = this.#ctx.limits.relookupAfterMs
    if (contact.recordAgeMs(now) < afterMs || !this.#peers.canLookUp(peer)) return
    const known = contact.record
    void this.#peers.lookUp(peer).then(() => {
      const path = contact.returnPath
      if (path !== undefined && contact.record !== known && contact.silentForMs(this.#ctx.clock.monotonic()) >= afterMs) contact.dropPath(path)
    })
  }

  /**
   * Try the record's routes in order: true when one took the frame; else the last failure that may pass
   * (`retryable`), or undefined when every route is dead. A failure not about the endpoint is thrown.
   */
  async #tryRoutes (peer: Peer, frame: OutboundFrame, expectReply: boolean): Promise<true | EgtpError | undefined> {
    const ctx = this.#ctx
    if (!peer.contact.hasRecord(ctx.clock.now())) return undefined
    let temporary: EgtpError | undefined
    for (const { endpoint, strat } of peer.contact.routes) {
      try {
        await strat.send(peer.id, endpoint, frame, { expectReply, signal: ctx.shutdown })
        return true
      } catch (err) {
        if (ctx.shutdown.aborted) throw new EgtpError('ERR_CLOSED', 'node stopped', { cause: err })
        // A frame too large for this route goes back to the sender, which halves its batches.
        if (failureScopeOf(err) !== 'endpoint' || isEgtpError(err, 'ERR_FRAME_TOO_LARGE')) throw err
        if (isEgtpError(err) && err.retryable === true) temporary = err
        ctx.log.trace('%s via %s: %e', peer.id, endpoint.kind, err)
      }
    }
    return temporary
  }
}
