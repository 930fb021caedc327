import { describe, expect, it } from 'vitest'
import { MemoryStore, isEgtpError } from '@egtp/interface'
import { SessionManager } from '../src/index.ts'
import { inspectSessions } from '../src/testing.ts'
import { JOINED_SEAL_MAX_BYTES } from '../src/session.ts'
import { FakeClock, connect, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)

function pair (clock = new FakeClock()): { a: SessionManager, b: SessionManager, clock: FakeClock } {
  return {
    a: new SessionManager({ identity: alice, clock, random: seededRandom(1) }),
    b: new SessionManager({ identity: bob, clock, random: seededRandom(2) }),
    clock
  }
}

describe('SessionManager basics', () => {
  it('delivers the first message as early data and completes the handshake with the reply', () => {
    const { a, b } = pair()
    const first = a.seal(peerOf(bob), text('hello'))
    const opened = b.open(first.frame)
    expect(str(opened.plaintext)).toBe('hello')
    expect(opened.peer?.nodeId).toBe(alice.nodeId)
    expect(opened.replies).toHaveLength(1)
    expect(opened.confirmationOnly).toBeUndefined() // the handshake response: the initiator waits for it
    expect(opened.responseOnly).toBe(true) // it rides on every frame we seal to Alice until she confirms
    const back = a.open(opened.replies[0]!)
    expect(back.responseOnly).toBeUndefined()
    expect(back.plaintext).toBeUndefined()
    expect(back.replies).toHaveLength(1) // a confirmation
    expect(back.confirmationOnly).toBe(true)
    b.open(back.replies[0]!)
    const s1 = inspectSessions(a, bob.nodeId)[0]!
    const s2 = inspectSessions(b, alice.nodeId)[0]!
    expect(s1).toMatchObject({ current: true, established: true, confirmed: true, role: 'initiator' })
    expect(s2).toMatchObject({ current: true, established: true, confirmed: true, role: 'responder', timestamp: s1.timestamp })
    const m = b.seal(peerOf(alice), text('pong'))
    expect(str(a.open(m.frame).plaintext)).toBe('pong')
    const m2 = a.seal(peerOf(bob), text('ping'))
    expect(str(b.open(m2.frame).plaintext)).toBe('ping')
  })

  it('opens a data frame in place on request: the plaintext views the frame; a forged frame throws ERR_AUTH, changes nothing', () => {
    const { a, b } = pair()
    b.open(a.seal(peerOf(bob), text('hello')).frame).replies.forEach(r => { a.open(r).replies.forEach(c => b.open(c)) })
    const big = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff)
    const frame = a.seal(peerOf(bob), big).frame
    const forged = frame.slice()
    forged[forged.byteLength - 1]! ^= 1
    expect(() => b.open(forged, undefined, { inPlace: true })).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }))
    const res = b.open(frame, undefined, { inPlace: true })
    expect(Buffer.from(res.plaintext!).equals(Buffer.from(big))).toBe(true)
    if (process.env.EGTP_NO_SODIUM !== '1') expect(res.plaintext!.buffer).toBe(frame.buffer)
    // Without the option, a frame is opened into new memory and left as it was.
    const next = a.seal(peerOf(bob), big).frame
    const copy = next.slice()
    const plain = b.open(next)
    expect(plain.plaintext!.buffer).not.toBe(next.buffer)
    expect(Buffer.from(next).equals(Buffer.from(copy))).toBe(true)
  })

  it('frames of several sessions opened in turn each open under their own session\'s keys', () => {
    const clock = new FakeClock()
    const { a, b } = pair(clock)
    const carol = identity(3)
    const c = new SessionManager({ identity: carol, clock, random: seededRandom(3) })
    for (const x of [a, c]) b.open(x.seal(peerOf(bob), text('hello')).frame).replies.forEach(r => { x.open(r).replies.forEach(k => b.open(k)) })
    for (let i = 0; i < 4; i++) {
      expect(str(b.open(a.seal(peerOf(bob), text(`a${i}`)).frame).plaintext)).toBe(`a${i}`)
      expect(str(b.open(c.seal(peerOf(bob), text(`c${i}`)).frame).plaintext)).toBe(`c${i}`)
      expect(str(a.open(b.seal(peerOf(alice), text(`b>a${i}`)).frame).plaintext)).toBe(`b>a${i}`)
      expect(str(c.open(b.seal(peerOf(carol), text(`b>c${i}`)).frame).plaintext)).toBe(`b>c${i}`)
      expect(str(a.open(b.seal(peerOf(alice), text('again')).frame).plaintext)).toBe('again') // the same session twice in a row
    }
    // A frame of one session is not opened by another's keys, whichever session opened last.
    const toCarol = b.seal(peerOf(carol), text('for carol')).frame
    expect(str(b.open(a.seal(peerOf(bob), text('x')).frame).plaintext)).toBe('x')
    expect(a.open(toCarol).plaintext).toBeUndefined() // (an unknown session to Alice: at most a hint back)
    expect(str(c.open(toCarol).plaintext)).toBe('for carol')
  })

  it('the event observer sees each event before the listeners, by a direct call; one that throws breaks nothing', () => {
    const { a, b } = pair()
    const seen: string[] = []
    a.setEventObserver((type, detail) => {
      seen.push(`observer ${type} ${detail.peer.nodeId === bob.nodeId ? 'bob' : '?'}`)
      if (type === 'session:new') expect(detail.role).toBe('initiator')
    })
    a.addEventListener('session:new', () => { seen.push('listener session:new') })
    a.addEventListener('session:confirmed', () => { seen.push('listener session:confirmed') })
    b.setEventObserver(() => { throw new Error('observer bug') })
    const opened = b.open(a.seal(peerOf(bob), text('hello')).frame)
    expect(str(opened.plaintext)).toBe('hello')
    const back = a.open(opened.replies[0]!)
    b.open(back.replies[0]!)
    expect(seen).toEqual(['observer session:new bob', 'listener session:new', 'observer session:confirmed bob', 'listener session:confirmed'])
    expect(inspectSessions(b, alice.nodeId)[0]).toMatchObject({ current: true, established: true, confirmed: true })
    a.setEventObserver(undefined)
    seen.length = 0
    expect(str(b.open(a.seal(peerOf(bob), text('again')).frame).plaintext)).toBe('again')
    expect(seen).toEqual([])
  })

  it('sealParts seals the joined plaintext as pieces of one frame, during and after the handshake', () => {
    const { a, b } = pair()
    const big = new Uint8Array(70_000).map((_, i) => i * 7)
    const parts = [text('head'), big.subarray(0, 5000), new Uint8Array(0), big.subarray(5000), text('tail')]
    const whole = Buffer.concat(parts)
    const joined = (pieces: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(pieces))
    // First frame: early data on the initiation.
    const opened = b.open(joined(a.sealParts(peerOf(bob), parts).pieces))
    expect(Buffer.from(opened.plaintext!).equals(whole)).toBe(true)
    const back = a.open(opened.replies[0]!)
    b.open(back.replies[0]!)
    // Transport frames, both directions: the same size as seal's, and they open to the joined bytes.
    for (let i = 0; i < 3; i++) {
      const t1 = a.seal(peerOf(bob), whole).frame
      const t2 = joined(a.sealParts(peerOf(bob), parts).pieces)
      expect(t2.byteLength).toBe(t1.byteLength)
      expect(Buffer.from(b.open(t1).plaintext!).equals(whole)).toBe(true)
      expect(Buffer.from(b.open(t2).plaintext!).equals(whole)).toBe(true)
      const r = joined(b.sealParts(peerOf(alice), parts).pieces)
      expect(Buffer.from(a.open(r).plaintext!).equals(whole)).toBe(true)
      const tampered = t2.slice()
      tampered[tampered.byteLength - 1]! ^= 1
      expect(() => b.open(tampered)).toThrow()
    }
    expect(() => a.sealParts(peerOf(bob), [new Uint8Array(0)])).toThrow(RangeError)
  })

  it('sealParts seals small parts as one piece, in place, leaving the parts untouched', () => {
    const { a, b } = pair()
    b.open(a.open(b.open(a.seal(peerOf(bob), text('hi')).frame).replies[0]!).replies[0]!)
    for (const total of [3, 200, JOINED_SEAL_MAX_BYTES, JOINED_SEAL_MAX_BYTES + 1]) {
      const whole = new Uint8Array(total).map((_, i) => i * 13)
      const parts = [whole.subarray(0, 1), whole.subarray(1, 2), whole.subarray(2)]
      const copies = parts.map(p => p.slice())
      const { pieces } = a.sealParts(peerOf(bob), parts)
      expect(pieces.length === 1).toBe(total <= JOINED_SEAL_MAX_BYTES)
      expect(parts).toEqual(copies) // encrypted in the frame's memory, not in the parts'
      const frame = new Uint8Array(Buffer.concat(pieces))
      expect(frame.byteLength).toBe(a.seal(peerOf(bob), whole).frame.byteLength)
      const tampered = frame.slice()
      tampered[tampered.byteLength - 1]! ^= 1
      expect(() => b.open(tampered)).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }))
      expect(Buffer.from(b.open(frame).plaintext!).equals(whole)).toBe(true)
    }
  })

  it('handshakesPending: true from a first seal until the handshake is confirmed, on each side; false when idle', () => {
    const { a, b } = pair()
    expect([a.handshakesPending, b.handshakesPending]).toEqual([false, false])
    const first = a.seal(peerOf(bob), text('hello'))
    expect(a.handshakesPending).toBe(true)
    const opened = b.open(first.frame)
    expect(b.handshakesPending).toBe(true) // its response waits for the confirmation
    const back = a.open(opened.replies[0]!)
    b.open(back.replies[0]!)
    a.tick() // the settled leave the set of handshakes to watch at a tick
    b.tick()
    expect([a.handshakesPending, b.handshakesPending]).toEqual([false, false])
  })

  it('refuses to talk to itself with ERR_SELF', () => {
    const { a } = pair()
    expect(() => a.seal(peerOf(alice), text('x'))).toThrow(expect.objectContaining({ code: 'ERR_SELF' }))
  })

  it('requires start() when a store is given', async () => {
    const m = new SessionManager({ identity: alice, store: new MemoryStore() })
    expect(() => m.seal(peerOf(bob), text('x'))).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
    await m.start()
    expect(() => m.seal(peerOf(bob), text('x'))).not.toThrow()
  })

  it('rejects a peer key that does not hash to the node ID', () => {
    const { a } = pair()
    let err: unknown
    try { a.seal({ nodeId: bob.nodeId, publicKey: alice.publicKey }, text('x')) } catch (e) { err = e }
    expect(isEgtpError(err, 'ERR_KEY_MISMATCH')).toBe(true)
  })

  it('rejects a known peer key named with another node ID, and a malformed one (the key-to-ID hash is cached)', () => {
    const { a } = pair()
    a.seal(peerOf(bob), text('x'))
    const carol = identity(3)
    for (const [nodeId, code] of [[carol.nodeId, 'ERR_KEY_MISMATCH'], [`${bob.nodeId.slice(0, -1)}\u212a`, 'ERR_BAD_NODE_ID']] as const) {
      let err: unknown
      try { a.seal({ nodeId, publicKey: bob.publicKey }, text('y')) } catch (e) { err = e }
      expect(isEgtpError(err, code)).toBe(true)
    }
  })
})

describe('tick on a big table (more peers than tickMaxPeers)', () => {
  it('expires a slice of the peers per tick, each once a round, and still retransmits every unanswered handshake on time', () => {
    const clock = new FakeClock()
    const idleMs = 60_000
    const a = new SessionManager({ identity: alice, clock, random: seededRandom(1), tickMaxPeers: 2, idleReceiveTimeoutMs: idleMs, archiveKeepMs: 10_000 })
    const peers = [3, 4, 5, 6, 7].map((label, i) => ({ id: identity(label), m: new SessionManager({ identity: identity(label), clock, random: seededRandom(10 + i) }) }))
    for (const p of peers) connect(a, p.m, peerOf(p.id))
    expect(a.stats().currentSessions).toBe(5)
    // Two initiations nobody answers: their retransmissions come on the first tick after handshakeRetryMs.
    a.seal(peerOf(identity(8)), text('lost'))
    a.seal(peerOf(identity(9)), text('lost'))
    clock.advance(1_000)
    expect(a.tick().map(o => o.peer.nodeId).sort()).toEqual([identity(8).nodeId, identity(9).nodeId].sort())
    // Every session idle now: 7 peers, 2 checked per tick (the two unanswered ones are checked every tick too).
    clock.advance(idleMs)
    const current: number[] = []
    for (let i = 0; i < 5; i++) {
      a.tick()
      current.push(a.stats().currentSessions)
    }
    expect(current[0]).toBeGreaterThanOrEqual(3) // not all at once
    expect(current.at(-1)).toBe(0) // all within a round (4 ticks for 7 peers)
    // Archived keys go after archiveKeepMs, and the emptied peers with them, within a round.
    clock.advance(10_000)
    for (let i = 0; i < 5; i++) a.tick()
    expect(a.stats()).toMatchObject({ sessions: 0, peers: 0 })
  })

  it('a table within tickMaxPeers is checked whole on every tick', () => {
    const clock = new FakeClock()
    const a = new SessionManager({ identity: alice, clock, random: seededRandom(1), tickMaxPeers: 8, idleReceiveTimeoutMs: 60_000 })
    for (const label of [3, 4, 5, 6, 7]) connect(a, new SessionManager({ identity: identity(label), clock, random: seededRandom(label) }), peerOf(identity(label)))
    clock.advance(60_000)
    a.tick()
    expect(a.stats().currentSessions).toBe(0)
  })

  it('refuses a tickMaxPeers that is not a positive number', () => {
    expect(() => new SessionManager({ identity: alice, tickMaxPeers: 0 })).toThrow(/tickMaxPeers/)
  })
})
