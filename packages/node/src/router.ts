import { EgtpError, routeFailureOf } from '@egtp/interface'
import type { OutboundFrame } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import type { Peer, PeerTable } from './peers.ts'

/**
 * Where sealed frames to a peer go: the path its last authenticated frame came by while usable, else its
 * record's routes cheapest first (each commstrat's `cost`), then a fresh lookup. What a failure means is the
 * commstrat's to say (`routeFailureOf`): the router knows no transport.
 */
export class Router {
  readonly #ctx: NodeContext
  readonly #peers: PeerTable

  constructor (ctx: NodeContext, peers: PeerTable) {
    this.#ctx = ctx
    this.#peers = peers
  }

  /**
   * Send a sealed frame to `peer`. When nothing can carry it (fast fail), look the peer up again and try once
   * more (EGTP v1's rule); then fail.
   * @throws {EgtpError} ERR_UNREACHABLE; a busy endpoint's refusal when some refused and none took it; other
   *   transport errors (ERR_BACKPRESSURE, ERR_FRAME_TOO_LARGE, …) pass through
   */
  async transmit (peer: Peer, frame: OutboundFrame, expectReply: boolean): Promise<void> {
    const ctx = this.#ctx
    const contact = peer.contact
    const path = contact.returnPath
    if (path !== undefined && path.usable()) {
      try {
        await path.reply(frame, { signal: ctx.shutdown })
        return
      } catch (err) {
        if (ctx.shutdown.aborted) throw new EgtpError('ERR_CLOSED', 'node stopped', { cause: err })
        if (routeFailureOf(err) !== 'endpoint') throw err
        contact.dropPath(path)
      }
    } else if (path !== undefined) {
      contact.dropPath(path)
    }
    if (contact.record === undefined) await this.#peers.lookUp(peer)
    if (await this.#tryRoutes(peer, frame, expectReply)) return
    // Fast fail: look it up again, resend once. The directory may hand back the same record (the peer is down).
    if (this.#peers.canLookUp(peer) && await this.#peers.lookUp(peer) && await this.#tryRoutes(peer, frame, expectReply)) return
    throw new EgtpError('ERR_UNREACHABLE', `no way to reach ${peer.id}`)
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
      this.#ctx.stats.bytesSent += frame.byteLength
    }, (err: unknown) => { this.#ctx.log.trace('session frame to %s failed: %e', peer.id, err) })
  }

  /**
   * Whether the peer's record names a route whose commstrat says failures there recover by themselves (a
   * relay): messages then wait for it within their deadline instead of failing at once.
   */
  hasRecoveringRoute (peer: Peer): boolean {
    if (!peer.contact.hasRecord(this.#ctx.clock.now())) return false
    return peer.contact.routes.some(r => r.strat.routesRecover === true)
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
   * Try the record's routes in order. Returns false when every one is a dead route; throws the last busy
   * refusal when some refused and none took the frame (the sender retries it later), or any other error.
   */
  async #tryRoutes (peer: Peer, frame: OutboundFrame, expectReply: boolean): Promise<boolean> {
    const ctx = this.#ctx
    if (!peer.contact.hasRecord(ctx.clock.now())) return false
    let refusal: unknown
    for (const { endpoint, strat } of peer.contact.routes) {
      try {
        await strat.send(peer.id, endpoint, frame, { expectReply, signal: ctx.shutdown })
        return true
      } catch (err) {
        if (ctx.shutdown.aborted) throw new EgtpError('ERR_CLOSED', 'node stopped', { cause: err })
        const failure = routeFailureOf(err)
        if (failure === undefined) throw err
        if (failure === 'busy') refusal = err
        ctx.log.trace('%s via %s: %e', peer.id, endpoint.kind, err)
      }
    }
    if (refusal !== undefined) throw refusal
    return false
  }
}
