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

export const internals = new WeakMap<object, ManagerInternals>()
