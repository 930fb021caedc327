/**
 * Test-only entry point (`@egtp/session/testing`): the generic Noise core with injectable ephemeral keys, for
 * running published test vectors and pinning transcripts. Never use injected ephemerals in production: a reused
 * ephemeral key destroys the handshake's security.
 *
 * @example
 * ```ts
 * import { HandshakeState, keyPairFromSecret } from '@egtp/session/testing'
 * const hs = new HandshakeState({ protocol: 'Noise_XX_25519_ChaChaPoly_BLAKE2s', initiator: true, s: keyPairFromSecret(secret), e: keyPairFromSecret(eph) })
 * const msg1 = hs.writeMessage()
 * ```
 */
export { HandshakeState } from './noise/handshake.ts'
export type { HandshakeInit } from './noise/handshake.ts'
export { CipherState, SymmetricState } from './noise/state.ts'
export { keyPairFromSecret } from './noise/primitives.ts'
export type { KeyPair } from './noise/primitives.ts'
export { ReplayWindow } from './replay-window.ts'

import { internalsOf } from './internal.ts'
import type { SessionInfo } from './internal.ts'
import type { KeyPair as EphemeralKeyPair } from './noise/primitives.ts'
export type { SessionInfo }

/** The sessions a manager holds with a peer (current first, then archived), for tests and diagnostics. */
export function inspectSessions (manager: object, peerId: string): SessionInfo[] {
  const i = internalsOf(manager)
  if (i === undefined) throw new TypeError('not a SessionManager')
  return i.sessions(peerId)
}

/**
 * Make a manager's next handshakes use these ephemeral keys (`undefined` from the source: a fresh key). For
 * pinned transcripts only: reusing an ephemeral key in production destroys the handshake's security.
 */
export function injectEphemerals (manager: object, source: (() => EphemeralKeyPair | undefined) | undefined): void {
  const i = internalsOf(manager)
  if (i === undefined) throw new TypeError('not a SessionManager')
  i.setEphemeralSource(source)
}
