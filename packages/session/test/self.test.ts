// Scenario 8: talking to yourself. Equal node IDs have no winner under the one-winner rule: ERR_SELF, both
// when asked to send to our own ID and when an initiation made with our own identity arrives.
import { describe, expect, it } from 'vitest'
import { x25519PublicKeyFromEd25519 } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import { NOISE_PROTOCOL, SessionManager } from '../src/index.ts'
import { ikContext, writeInitiation } from '../src/ik.ts'
import { PublicKeyCache, keyPairFromSecret } from '../src/noise/primitives.ts'
import { sessionCodec } from '@egtp/codec/session'
import { inspectSessions } from '../src/testing.ts'
import { FakeClock, identity, peerOf, seededRandom, text } from './helpers/fixtures.ts'

const alice = identity(1)

function selfInitiation (clock: FakeClock): Uint8Array {
  const secret = alice.x25519SecretKey()
  const ctx = ikContext(NOISE_PROTOCOL, keyPairFromSecret(secret), new PublicKeyCache(4))
  const { message } = writeInitiation(ctx, x25519PublicKeyFromEd25519(alice.publicKey), { publicKey: alice.publicKey, index: 7, timestamp: clock.now() })
  return sessionCodec.encode({ t: 'hi', h: message })
}

describe('scenario 8: talking to yourself', () => {
  it('seal to our own node ID is ERR_SELF', () => {
    const m = new SessionManager({ identity: alice, clock: new FakeClock(), random: seededRandom(1) })
    let err: unknown
    try { m.seal(peerOf(alice), text('x')) } catch (e) { err = e }
    expect(isEgtpError(err, 'ERR_SELF')).toBe(true)
    expect(inspectSessions(m, alice.nodeId)).toEqual([])
  })

  it('an initiation made with our own identity (another process with our key) is ERR_SELF, every time', () => {
    const clock = new FakeClock()
    const m = new SessionManager({ identity: alice, clock, random: seededRandom(1) })
    const frame = selfInitiation(clock)
    for (let i = 0; i < 2; i++) {
      let err: unknown
      try { m.open(frame) } catch (e) { err = e }
      expect(isEgtpError(err, 'ERR_SELF')).toBe(true)
    }
    expect(inspectSessions(m, alice.nodeId)).toEqual([])
    expect(m.stats().sessions).toBe(0)
  })
})

describe('node ID spelling', () => {
  it('our own node ID in upper case is still ERR_SELF, and a peer named in upper case is the same peer', () => {
    const bob = identity(2)
    const clock = new FakeClock()
    const m = new SessionManager({ identity: alice, clock, random: seededRandom(1) })
    let err: unknown
    try { m.seal({ nodeId: alice.nodeId.toUpperCase(), publicKey: alice.publicKey }, text('x')) } catch (e) { err = e }
    expect(isEgtpError(err, 'ERR_SELF')).toBe(true)
    m.seal({ nodeId: bob.nodeId.toUpperCase(), publicKey: bob.publicKey }, text('x'))
    m.seal(peerOf(bob), text('y'))
    expect(inspectSessions(m, bob.nodeId)).toHaveLength(1)
    expect(m.stats().peers).toBe(1)
  })
})
