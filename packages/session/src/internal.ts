// Hooks the `./testing` entry point uses to look inside a SessionManager without widening its public API.
import type { KeyPair } from './noise/primitives.ts'

export interface SessionInfo {
  id: string
  role: 'initiator' | 'responder'
  current: boolean
  loser: boolean
  established: boolean
  confirmed: boolean
  timestamp: number
  initiator: string
  localIndex: number
  remoteIndex: number | undefined
  sendCounter: number
}

export interface ManagerInternals {
  sessions: (peerId: string) => SessionInfo[]
  setEphemeralSource: (source: (() => KeyPair | undefined) | undefined) => void
}

/**
 * The hooks of a SessionManager, or `undefined` for anything else. Set once by SessionManager's static block
 * (which alone can read its private fields): no per-manager entry in a long-lived WeakMap, whose value would
 * hold its key alive through every scavenge (V8 treats an old table's values as strong in minor GCs), so each
 * short-lived manager, and all it references, would be promoted and wait for a full collection.
 */
export let internalsOf: (manager: object) => ManagerInternals | undefined = () => undefined

/** Called once, by SessionManager's static block. */
export function setInternalsOf (accessor: (manager: object) => ManagerInternals | undefined): void {
  internalsOf = accessor
}

/**
 * Test-only switches that put known defects back, so the explorer (test/explorer) can prove it finds them.
 * Reachable only by a deep import of this file from tests; never exported from index.ts. All false in use.
 */
export const mutations = {
  /** Answer a frame for an unknown session with nothing: no `hu`, no fresh initiation (the 2004 code). */
  disableHints: false,
  /** On a crossover keep our own outgoing session, whatever its rank (the 2004 code's "TODO … pass"). */
  disableWinnerRule: false,
  /**
   * The timestamp lease before issue 10: one hour ahead of the timestamp issued (a restarted node's timestamps
   * run up to an hour ahead), and a paranoid window with no allowance for it (defect 1).
   */
  legacyTimestampLease: false,
  /** A verified clock-window notice changes nothing: the refused side keeps its initiation pending (defects 1, 2). */
  disableRefusalYield: false,
  /** A repeated initiation no longer in the cache is refused as a replay (defect 4). */
  disableInitiationRecognition: false,
  /** A pending initiation keeps sending early data past the limit while the handshake budget is spent (defect 5). */
  legacyEarlyDataBudget: false,
  /** An initiator ignores cookie replies: a responder under load never hears an initiation it can admit. */
  ignoreCookieReplies: false
}
