// Adversarial input: flipped bits, unknown sessions, forged hints, truncated and garbage frames, and logs that
// must never carry key material.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createComponentLogger, isEgtpError } from '@egtp/interface'
import { signCanonical, verifyCanonical } from '@egtp/identity'
import { HINT_CONTEXT, SessionManager } from '../src/index.ts'
import { inspectSessions, injectEphemerals, keyPairFromSecret } from '../src/testing.ts'
import { sessionCodec } from '@egtp/codec/session'
import { NOISE_PROTOCOL } from '../src/constants.ts'
import { ikContext, writeInitiation } from '../src/ik.ts'
import { PublicKeyCache } from '../src/noise/primitives.ts'
import { FakeClock, connect, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)
const mallory = identity(3)
const generous = { maxHandshakesPerSecond: 1e6, maxHandshakesPerPeerPerSecond: 1e6, maxHintsPerSecond: 1e6 }

function pair (): { a: SessionManager, b: SessionManager, clock: FakeClock } {
  const clock = new FakeClock()
  return {
    a: new SessionManager({ identity: alice, clock, random: seededRandom(1), ...generous }),
    b: new SessionManager({ identity: bob, clock, random: seededRandom(2), ...generous }),
    clock
  }
}

/** What opening a frame did: a thrown error code, or 'ok'. Anything but an EgtpError fails the test. */
function outcome (m: SessionManager, frame: Uint8Array): string {
  try {
    m.open(frame)
    return 'ok'
  } catch (err) {
    if (!isEgtpError(err)) throw err
    return err.code
  }
}

function flip (frame: Uint8Array, bit: number): Uint8Array {
  const out = frame.slice()
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}

function works (a: SessionManager, b: SessionManager, label: string): void {
  expect(str(b.open(a.seal(peerOf(bob), text(label)).frame).plaintext)).toBe(label)
  expect(str(a.open(b.seal(peerOf(alice), text(`re ${label}`)).frame).plaintext)).toBe(`re ${label}`)
}

describe('flipped bits', () => {
  it('any bit flipped in the ciphertext or tag of a transport frame is ERR_AUTH; anywhere else, an EgtpError or an unknown-session hint; the original still opens', () => {
    const { a, b } = pair()
    connect(a, b, peerOf(bob))
    const frame = a.seal(peerOf(bob), text('authentic')).frame
    const c = sessionCodec.decode(frame) as { c: Uint8Array }
    const cStart = frame.byteLength - c.c.byteLength
    const seen = new Set<string>()
    for (let bit = 0; bit < frame.byteLength * 8; bit++) {
      const flipped = flip(frame, bit)
      const got = outcome(b, flipped)
      if (bit >= cStart * 8) expect({ bit, got }).toEqual({ bit, got: 'ERR_AUTH' })
      else expect(got === 'ok' ? b.open(flipped).plaintext : undefined).toBeUndefined()
      seen.add(got)
    }
    expect(seen.has('ok')).toBe(true) // a flipped receiver index is an unknown session: a hint, no plaintext
    expect(str(b.open(frame).plaintext)).toBe('authentic')
    works(a, b, 'after')
  })

  it('any bit flipped in an initiation with early data is refused (ERR_AUTH for the Noise message and the early data)', () => {
    const { a, b } = pair()
    const hi = a.seal(peerOf(bob), text('early')).frame
    const h = (sessionCodec.decode(hi) as { h: Uint8Array }).h
    const hStart = Buffer.from(hi).indexOf(Buffer.from(h))
    expect(hStart).toBeGreaterThan(0)
    const c = (sessionCodec.decode(hi) as { c: Uint8Array }).c
    const cStart = hi.byteLength - c.byteLength
    for (let bit = 0; bit < hi.byteLength * 8; bit++) {
      const got = outcome(b, flip(hi, bit))
      const inH = bit >= hStart * 8 && bit < (hStart + h.byteLength) * 8
      if (inH || bit >= cStart * 8) expect({ bit, got }).toEqual({ bit, got: 'ERR_AUTH' })
      else expect(got).not.toBe('ok')
    }
    // A flipped counter leaves the Noise message intact: the (authentic) initiation may be accepted, its early
    // data is not. At most that one session exists, and the untouched frame still delivers.
    expect(inspectSessions(b, alice.nodeId).length).toBeLessThanOrEqual(1)
    expect(str(b.open(hi).plaintext)).toBe('early')
  })
})

describe('unknown sessions', () => {
  it('a frame for an unknown session index yields a signed unknown-session hint naming it', () => {
    const { a, b } = pair()
    connect(a, b, peerOf(bob))
    const frame = a.seal(peerOf(bob), text('x')).frame
    const restarted = new SessionManager({ identity: bob, clock: new FakeClock(), random: seededRandom(9) })
    const res = restarted.open(frame)
    expect(res.plaintext).toBeUndefined()
    expect(res.replies).toHaveLength(1)
    const hint = sessionCodec.decode(res.replies[0]!) as { t: string, r: number, n?: number, k: Uint8Array, g: Uint8Array }
    const sent = sessionCodec.decode(frame) as { r: number, n: number }
    expect(hint).toMatchObject({ t: 'hu', r: sent.r, n: sent.n })
    expect(hint.k).toEqual(bob.publicKey)
    expect(verifyCanonical(bob.publicKey, HINT_CONTEXT, { r: hint.r, n: hint.n }, hint.g)).toBe(true)
    // The genuine hint ends A's session with reason 'hint'; the next message starts a new handshake.
    const reasons: string[] = []
    a.addEventListener('session:replaced', (e) => { reasons.push(e.detail.reason) })
    a.open(res.replies[0]!)
    expect(reasons).toEqual(['hint'])
    expect(a.hasSession(bob.nodeId)).toBe(false)
    expect((sessionCodec.decode(a.seal(peerOf(bob), text('y')).frame) as { t: string }).t).toBe('hi')
  })

  it('through a relay that names the authenticated sender, the hint comes with a fresh initiation', () => {
    const { a, b } = pair()
    connect(a, b, peerOf(bob))
    const frame = a.seal(peerOf(bob), text('x')).frame
    const restarted = new SessionManager({ identity: bob, clock: new FakeClock(), random: seededRandom(9) })
    const res = restarted.open(frame, { authenticatedSender: alice.nodeId, authenticatedSenderKey: alice.publicKey })
    expect(res.replies.map(r => (sessionCodec.decode(r) as { t: string }).t)).toEqual(['hu', 'hi'])
  })
})

describe('forged or unauthenticated hints never drop a working session', () => {
  function setup (): { a: SessionManager, b: SessionManager, r: number, n: number } {
    const { a, b } = pair()
    connect(a, b, peerOf(bob))
    const sent = sessionCodec.decode(a.seal(peerOf(bob), text('x')).frame) as { r: number, n: number }
    return { a, b, r: sent.r, n: sent.n }
  }
  const hint = (k: Uint8Array, g: Uint8Array, r: number, n?: number): Uint8Array =>
    sessionCodec.encode(n === undefined ? { t: 'hu', r, k, g } : { t: 'hu', r, n, k, g })

  const forgeries: Array<[string, (r: number, n: number) => Uint8Array]> = [
    ['signed by a third party with its own key', (r, n) => hint(mallory.publicKey, signCanonical(mallory, HINT_CONTEXT, { r, n }), r, n)],
    ["carrying the peer's key and a third party's signature", (r, n) => hint(bob.publicKey, signCanonical(mallory, HINT_CONTEXT, { r, n }), r, n)],
    ["carrying the peer's key and a zero signature", (r, n) => hint(bob.publicKey, new Uint8Array(64), r, n)],
    ['signed by the peer for another session index', (r, n) => hint(bob.publicKey, signCanonical(bob, HINT_CONTEXT, { r: r ^ 1, n }), r ^ 1, n)],
    ['signed by the peer for a counter never sent', (r) => hint(bob.publicKey, signCanonical(bob, HINT_CONTEXT, { r, n: 1_000 }), r, 1_000)],
    ['with a signature over a different counter', (r, n) => hint(bob.publicKey, signCanonical(bob, HINT_CONTEXT, { r, n: n + 1 }), r, n)]
  ]
  for (const [label, forge] of forgeries) {
    it(label, () => {
      const { a, b, r, n } = setup()
      const before = inspectSessions(a, bob.nodeId)
      expect(outcome(a, forge(r, n))).toBe('ERR_AUTH')
      expect(inspectSessions(a, bob.nodeId)).toEqual(before)
      expect(a.stats().hintsAccepted).toBe(0)
      works(a, b, label)
    })
  }
})

describe('truncated and garbage frames', () => {
  it('every truncation of every frame type throws an EgtpError, never a TypeError', () => {
    const { a, b } = pair()
    const { hi, hr, confirm } = connect(a, b, peerOf(bob))
    const hd = a.seal(peerOf(bob), text('data')).frame
    const restarted = new SessionManager({ identity: bob, clock: new FakeClock(), random: seededRandom(9) })
    const hu = restarted.open(hd).replies[0]!
    const fresh = pair()
    for (const [target, frame] of [[fresh.b, hi], [fresh.a, hr], [b, confirm], [b, hd], [a, hu]] as const) {
      for (let len = 0; len < frame.byteLength; len++) {
        expect(outcome(target, frame.subarray(0, len))).not.toBe('ok')
      }
    }
    works(a, b, 'still')
  })

  it('random bytes and random mutations of valid frames throw only EgtpErrors (seeded)', () => {
    const { a, b } = pair()
    const { hi } = connect(a, b, peerOf(bob))
    const hd = a.seal(peerOf(bob), text('data')).frame
    const valid = [hi, hd]
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.constantFrom(...valid), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 255 }))
          .map(([f, i, v]) => { const g = f.slice(); g[i % g.byteLength] = v; return g })
      ),
      (frame) => { outcome(b, frame) }
    ), { seed: 2004, numRuns: 1_000 })
    works(a, b, 'still')
  })
})

describe('logging', () => {
  it('captured logs over handshakes, data, hints and expiry carry no key, secret or plaintext', () => {
    const lines: string[] = []
    const args: unknown[] = []
    const sink = (line: { message: string }): void => { lines.push(line.message) }
    const capture = (name: string): ReturnType<ReturnType<typeof createComponentLogger>['forComponent']> => {
      const inner = createComponentLogger('egtp:*', sink).forComponent(`egtp:${name}`)
      const wrap = Object.assign((f: string, ...a: unknown[]) => { args.push(...a); inner(f, ...a) }, {
        error: (f: string, ...a: unknown[]) => { args.push(...a); inner.error(f, ...a) },
        trace: (f: string, ...a: unknown[]) => { args.push(...a); inner.trace(f, ...a) },
        enabled: true,
        newScope: () => wrap
      })
      return wrap
    }
    const clock = new FakeClock()
    const a = new SessionManager({ identity: alice, clock, random: seededRandom(1), logger: capture('a') })
    const b = new SessionManager({ identity: bob, clock, random: seededRandom(2), logger: capture('b') })
    const ephemeral = new Uint8Array(32).fill(0x5a)
    injectEphemerals(a, () => keyPairFromSecret(ephemeral))
    connect(a, b, peerOf(bob), text('secret plaintext'))
    works(a, b, 'more secret plaintext')
    const restarted = new SessionManager({ identity: bob, clock, random: seededRandom(3), logger: capture('b2') })
    a.open(restarted.open(a.seal(peerOf(bob), text('x')).frame).replies[0]!)
    clock.advance(600_000)
    a.tick()
    b.tick()
    expect(lines.length).toBeGreaterThan(3)

    const secrets = [alice.exportSeed(), bob.exportSeed(), alice.x25519SecretKey(), bob.x25519SecretKey(), ephemeral]
    const forms = secrets.flatMap(s => [Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url').slice(0, 40)])
    const all = lines.join('\n')
    for (const f of forms) expect(all.includes(f)).toBe(false)
    // Nothing shaped like a 32-byte key at all (derived transport keys included): no 64 hex, no 43 base64 chars.
    expect(all).not.toMatch(/[0-9a-f]{64}/i)
    expect(all).not.toMatch(/[A-Za-z0-9+/_-]{43}/)
    expect(all).not.toMatch(/secret plaintext/)
    // And no raw bytes are ever handed to the logger, formatted or not.
    expect(args.filter(x => x instanceof Uint8Array || (typeof x === 'object' && x !== null))).toEqual([])
  })
})

describe('an initiation naming a key that is not its Noise static key', () => {
  /** A valid Noise message 1 from `sender`'s static key whose payload claims the Ed25519 key `claimed`. */
  function initiation (sender: typeof mallory, claimed: Uint8Array): Uint8Array {
    const ctx = ikContext(NOISE_PROTOCOL, keyPairFromSecret(sender.x25519SecretKey()), new PublicKeyCache(4))
    const { message } = writeInitiation(ctx, bob.x25519PublicKey, { publicKey: claimed, index: 7, timestamp: Date.now() })
    return sessionCodec.encode({ t: 'hi', h: message })
  }

  it.each([
    ["another node's key, never seen by the responder", () => alice.publicKey],
    ["another node's key the responder already knows (a cached identity)", () => alice.publicKey, true],
    ['a key that is no curve point', () => Uint8Array.from(Buffer.from('02' + '00'.repeat(31), 'hex'))],
    ['a y coordinate not below p', () => Uint8Array.from(Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex'))],
    ['the identity point', () => Uint8Array.from(Buffer.from('01' + '00'.repeat(31), 'hex'))]
  ])('is refused with ERR_AUTH: %s; the genuine key still works', (_name, claimed, warm?: boolean) => {
    const { a, b } = pair()
    if (warm === true) works(a, b, 'before')
    const before = inspectSessions(b, alice.nodeId)
    expect(outcome(b, initiation(mallory, claimed()))).toBe('ERR_AUTH')
    expect(inspectSessions(b, alice.nodeId)).toEqual(before)
    // Mallory's own key opens a session; Alice's sessions are untouched.
    expect(outcome(b, initiation(mallory, mallory.publicKey))).toBe('ok')
    works(a, b, 'after')
  })
})
