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
export { HandshakeState, parseProtocolName } from './noise/handshake.ts'
export type { HandshakeInit, HandshakePattern, NoiseProtocol, Token } from './noise/handshake.ts'
export { CipherState, SymmetricState } from './noise/state.ts'
export { keyPairFromSecret, generateKeyPair, CIPHERS, HASHES } from './noise/primitives.ts'
export type { KeyPair, NoiseCipher, NoiseHash } from './noise/primitives.ts'
