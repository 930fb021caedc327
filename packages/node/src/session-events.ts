import type { NodeContext } from './context.ts'
import type { Peer, PeerTable } from './peers.ts'
import type { NodeEvents } from './types.ts'

/** What session events ask of the sender. */
export interface Resender {
  resendAll: (peer: Peer) => void
}

/** What session events ask of the connector (its attempts wait for them). */
export interface ConnectWaiters {
  confirmed: (peerId: string) => void
  clockSkew: (peerId: string, skewMs: number) => void
}

/**
 * Turn the session manager's events into node events, stats, peers' clock-skew notes, connect attempts'
 * outcomes, and re-sends: frames sent under a replaced session may be lost (a restarted peer cannot open them),
 * so they are sent again. One direct observer, not listeners: a handshake emits two events on each side, and a
 * `CustomEvent` dispatch each would be on a fresh peer's path.
 */
export function followSessions (ctx: NodeContext, peers: PeerTable, sender: Resender, connector: ConnectWaiters): void {
  const { sessions, stats, events } = ctx
  sessions.setEventObserver((type, detail) => {
    switch (type) {
      case 'session:new':
        stats.handshakes++
        events.safeDispatch('session:new', { peerId: detail.peer.nodeId, sessionId: detail.sessionId, role: detail.role })
        break
      case 'session:clock-skew':
        peers.get(detail.peer.nodeId)?.contact.noteClockSkew(detail.skewMs)
        events.safeDispatch('peer:clock-skew', { peerId: detail.peer.nodeId, skewMs: detail.skewMs })
        connector.clockSkew(detail.peer.nodeId, detail.skewMs)
        break
      case 'session:confirmed':
        peers.get(detail.peer.nodeId)?.contact.clearClockSkew()
        connector.confirmed(detail.peer.nodeId)
        break
      case 'session:replaced': {
        stats.reset(detail.reason)
        const evt: NodeEvents['session:replaced'] = { peerId: detail.peer.nodeId, oldSessionId: detail.oldSessionId, reason: detail.reason }
        if (detail.newSessionId !== undefined) evt.newSessionId = detail.newSessionId
        events.safeDispatch('session:replaced', evt)
        const peer = peers.get(detail.peer.nodeId)
        if (peer !== undefined && detail.reason !== 'rekey') sender.resendAll(peer)
        break
      }
    }
  })
}
