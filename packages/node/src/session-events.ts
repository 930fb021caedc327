import type { NodeContext } from './context.ts'
import type { Peer, PeerTable } from './peers.ts'
import type { NodeEvents } from './types.ts'

/** What session events ask of the sender. */
export interface Resender {
  resendAll: (peer: Peer) => void
}

/**
 * Turn the session manager's events into node events, stats, peers' clock-skew notes, and re-sends: frames
 * sent under a replaced session may be lost (a restarted peer cannot open them), so they are sent again.
 */
export function followSessions (ctx: NodeContext, peers: PeerTable, sender: Resender): void {
  const { sessions, stats, events } = ctx
  sessions.addEventListener('session:new', ({ detail }) => {
    stats.handshakes++
    events.safeDispatch('session:new', { peerId: detail.peer.nodeId, sessionId: detail.sessionId, role: detail.role })
  })
  sessions.addEventListener('session:clock-skew', ({ detail }) => {
    peers.get(detail.peer.nodeId)?.contact.noteClockSkew(detail.skewMs)
    events.safeDispatch('peer:clock-skew', { peerId: detail.peer.nodeId, skewMs: detail.skewMs })
  })
  sessions.addEventListener('session:confirmed', ({ detail }) => {
    peers.get(detail.peer.nodeId)?.contact.clearClockSkew()
  })
  sessions.addEventListener('session:replaced', ({ detail }) => {
    stats.reset(detail.reason)
    const evt: NodeEvents['session:replaced'] = { peerId: detail.peer.nodeId, oldSessionId: detail.oldSessionId, reason: detail.reason }
    if (detail.newSessionId !== undefined) evt.newSessionId = detail.newSessionId
    events.safeDispatch('session:replaced', evt)
    const peer = peers.get(detail.peer.nodeId)
    if (peer !== undefined && detail.reason !== 'rekey') sender.resendAll(peer)
  })
}
