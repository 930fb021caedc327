// Work done ahead of a first handshake. Ephemeral keys (one spare per manager): each handshake gets its own, never
// one used before; an old spare is zeroed (and not replaced); closing zeroes it; injected test ephemerals still win.
// preparePeer: the same bytes on the wire, the same refusals as a first send.
import { setImmediate as turn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { readHandshakeFrame } from '@egtp/codec/session'
import { SessionManager } from '../src/index.ts'
import { SpareEphemeral } from '../src/ephemeral.ts'
import { generateKeyPair, keyPairFromSecret } from '../src/noise/primitives.ts'
import type { KeyPair } from '../src/noise/primitives.ts'
import { injectEphemerals } from '../src/testing.ts'
import { FakeClock, identity, peerOf, seededRandom, text } from './helpers/fixtures.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
/** The ephemeral public key a handshake frame carries (the first 32 bytes of its Noise message). */
const ephemeralOf = (frame: Uint8Array): string => hex(readHandshakeFrame(frame)!.h.subarray(0, 32))
/** Whether a pair's secret is zeroed (a raw libsodium secret; a node:crypto KeyObject cannot be, and is dropped). */
const zeroed = (p: KeyPair): boolean => !(p.secret instanceof Uint8Array) || p.secret.every(b => b === 0)

describe('spare ephemeral keys', () => {
  it('gives every handshake of a manager its own ephemeral, as initiator and as responder, across turns', async () => {
    const clock = new FakeClock()
    const server = new SessionManager({ identity: identity(1), clock })
    await server.start()
    const clients = Array.from({ length: 6 }, (_, i) => new SessionManager({ identity: identity(10 + i), clock }))
    const hub = new SessionManager({ identity: identity(2), clock })
    await hub.start()
    const seen = new Set<string>()
    for (let round = 0; round < 3; round++) {
      // Two handshakes in one turn (the second finds no spare and makes its own), then the refill's turn.
      for (const c of clients.slice(round * 2, round * 2 + 2)) {
        const init = c.seal(peerOf(identity(1)), text('hi')).frame
        const fromHub = hub.seal(peerOf(identity(10 + clients.indexOf(c))), text('hub')).frame
        const res = server.open(init)
        for (const frame of [init, fromHub, res.replies[0]!]) {
          const e = ephemeralOf(frame)
          expect(seen.has(e)).toBe(false)
          seen.add(e)
        }
      }
      await turn()
    }
    expect(seen.size).toBe(18)
  })

  it('hands out a spare once, refills from the second handshake on, zeroes one past its age without a new one, zeroes it on close', async () => {
    const clock = new FakeClock()
    const made: KeyPair[] = []
    const spare = new SpareEphemeral(clock, 1_000, () => { const p = generateKeyPair(); made.push(p); return p })
    spare.fill(clock.monotonic())
    expect(made).toHaveLength(1)
    const first = spare.take()
    expect(first).toBe(made[0])
    expect(spare.held).toBe(false)
    // After a first handshake, no new spare, not even at a tick (a one-handshake node needs none).
    await turn()
    spare.age(clock.monotonic())
    expect(spare.held).toBe(false)
    expect(made).toHaveLength(1)
    // No spare now: a new pair at once, and one spare made after this turn.
    const second = spare.take()
    expect(second).not.toBe(first)
    await turn()
    expect(spare.held).toBe(true)
    const waiting = made[made.length - 1]!
    clock.advance(1_000)
    const third = spare.take()
    expect(third).not.toBe(waiting)
    expect(zeroed(waiting)).toBe(true)
    await turn()
    const last = made[made.length - 1]!
    expect(spare.held).toBe(true)
    // A spare reaching its age (no handshake took it for as long) is zeroed at a tick, and none made instead.
    clock.advance(999)
    spare.age(clock.monotonic())
    expect(spare.held).toBe(true)
    clock.advance(1)
    spare.age(clock.monotonic())
    expect(zeroed(last)).toBe(true)
    expect(spare.held).toBe(false)
    const count = made.length
    for (let i = 0; i < 5; i++) { clock.advance(1_000); spare.age(clock.monotonic()) }
    expect(made).toHaveLength(count)
    // The next handshake makes its own pair at once, then a spare after its turn.
    const next = spare.take()
    expect(next).toBe(made[count])
    await turn()
    expect(spare.held).toBe(true)
    const replaced = made[made.length - 1]!
    spare.close()
    expect(spare.held).toBe(false)
    expect(zeroed(replaced)).toBe(true)
    // Closed: no more spares (a take still gives a fresh pair).
    spare.take()
    await turn()
    expect(spare.held).toBe(false)
  })

  it('uses injected test ephemerals before the spare', async () => {
    const clock = new FakeClock()
    const a = new SessionManager({ identity: identity(1), clock })
    await a.start()
    const injected = keyPairFromSecret(new Uint8Array(32).fill(5))
    injectEphemerals(a, () => injected)
    expect(ephemeralOf(a.seal(peerOf(identity(2)), text('x')).frame)).toBe(hex(injected.publicKey))
  })
})

describe('preparePeer', () => {
  it('changes no byte of the first initiation, and makes no peer state', async () => {
    const frames: string[] = []
    for (const prepare of [false, true]) {
      const clock = new FakeClock()
      const a = new SessionManager({ identity: identity(1), clock, random: seededRandom(3) })
      await a.start()
      injectEphemerals(a, () => keyPairFromSecret(new Uint8Array(32).fill(9)))
      if (prepare) {
        a.preparePeer(peerOf(identity(2)))
        a.preparePeer(peerOf(identity(2))) // idempotent
        expect(a.stats().peers).toBe(0)
        expect(a.hasSession(identity(2).nodeId)).toBe(false)
      }
      frames.push(hex(a.seal(peerOf(identity(2)), text('first')).frame))
    }
    expect(frames[1]).toBe(frames[0])
  })

  it('refuses what a first send refuses: a key that is not the node ID\'s, our own ID, a closed manager', () => {
    const a = new SessionManager({ identity: identity(1) })
    expect(() => a.preparePeer({ nodeId: identity(2).nodeId, publicKey: identity(3).publicKey })).toThrow(expect.objectContaining({ code: 'ERR_KEY_MISMATCH' }))
    expect(() => a.preparePeer({ nodeId: identity(1).nodeId.toUpperCase(), publicKey: identity(1).publicKey })).toThrow(expect.objectContaining({ code: 'ERR_SELF' }))
    expect(() => a.preparePeer({ nodeId: 'x', publicKey: new Uint8Array(3) } as never)).toThrow()
    a.close()
    expect(() => a.preparePeer(peerOf(identity(2)))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }))
  })
})
