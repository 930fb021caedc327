import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { HandshakeState, keyPairFromSecret } from '../src/testing.ts'
import { dh, importPublicKey, keyPairFromSecretNode } from '../src/noise/x25519.ts'
import type { CipherState } from '../src/testing.ts'

interface Vector {
  protocol_name: string
  init_prologue: string
  init_psks?: string[]
  init_static?: string
  init_ephemeral: string
  init_remote_static?: string
  resp_prologue: string
  resp_psks?: string[]
  resp_static?: string
  resp_ephemeral?: string
  resp_remote_static?: string
  handshake_hash: string
  messages: Array<{ payload: string, ciphertext: string }>
}

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const { vectors } = JSON.parse(readFileSync(new URL('./vectors/noise-25519.json', import.meta.url), 'utf8')) as { vectors: Vector[] }

describe('Noise test vectors (cacophony)', () => {
  it('covers every pattern, cipher and hash in the file', () => {
    expect(vectors).toHaveLength(32)
    expect(new Set(vectors.map(v => v.protocol_name.split('_')[1]))).toEqual(new Set(['NK', 'IK', 'XX', 'IKpsk2']))
  })

  // X25519 through whichever library loaded (libsodium here) and through node:crypto: both give every byte.
  // A third way: each side starts from the pre-message hash an earlier construction with the same keys gave
  // (HandshakeInit.preMessageHash, as a responder keeps its own) and, knowing both static keys up front (an IK
  // initiator), takes the ss DH computed ahead (HandshakeInit.staticShared, as an initiator keeps it per peer):
  // neither must change a byte.
  const keyPaths = { default: keyPairFromSecret, 'node:crypto': keyPairFromSecretNode, 'kept pre-message hash': keyPairFromSecret }
  for (const v of vectors) for (const [path, keyPairOf] of Object.entries(keyPaths)) {
    it(`${v.protocol_name} (${path} X25519): both sides produce every ciphertext and the handshake hash`, () => {
      const key = (s?: string): ReturnType<typeof keyPairFromSecret> | undefined => s === undefined ? undefined : keyPairOf(hex(s))
      const opt = <K extends string, T>(k: K, val: T | undefined): { [P in K]?: T } => (val === undefined ? {} : { [k]: val }) as { [P in K]?: T }
      const side = (initiator: boolean): HandshakeState => {
        const [prologue, st, eph, remote, psks] = initiator
          ? [v.init_prologue, v.init_static, v.init_ephemeral, v.init_remote_static, v.init_psks]
          : [v.resp_prologue, v.resp_static, v.resp_ephemeral, v.resp_remote_static, v.resp_psks]
        const init = {
          protocol: v.protocol_name,
          initiator,
          prologue: hex(prologue),
          ...opt('s', key(st)),
          ...opt('e', key(eph)),
          ...opt('rs', remote === undefined ? undefined : hex(remote)),
          ...opt('psks', psks?.map(hex))
        }
        const kept = path === 'kept pre-message hash' ? new HandshakeState(init).handshakeHash.slice() : undefined
        const s = key(st)
        const ss = path === 'kept pre-message hash' && initiator && s !== undefined && remote !== undefined
          ? dh(s.secret, hex(remote), () => importPublicKey(hex(remote)))
          : undefined
        return new HandshakeState({ ...init, ...opt('preMessageHash', kept), ...opt('staticShared', ss) })
      }
      const init = side(true)
      const resp = side(false)
      let i = 0
      let transport: { i: [CipherState, CipherState], r: [CipherState, CipherState] } | undefined
      for (const m of v.messages) {
        const initiatorSends = i % 2 === 0
        if (transport === undefined) {
          const [w, r] = initiatorSends ? [init, resp] : [resp, init]
          const ct = w.writeMessage(hex(m.payload))
          expect(toHex(ct)).toBe(m.ciphertext)
          expect(toHex(r.readMessage(ct))).toBe(m.payload)
          if (init.complete) {
            expect(resp.complete).toBe(true)
            expect(toHex(init.handshakeHash)).toBe(v.handshake_hash)
            expect(toHex(resp.handshakeHash)).toBe(v.handshake_hash)
            transport = { i: init.split(), r: resp.split() }
          }
        } else {
          // After the handshake: initiator sends with c1, responder with c2 (§5.2 Split).
          const send = initiatorSends ? transport.i[0] : transport.r[1]
          const recv = initiatorSends ? transport.r[0] : transport.i[1]
          const ct = send.encryptWithAd(new Uint8Array(0), hex(m.payload))
          expect(toHex(ct)).toBe(m.ciphertext)
          expect(toHex(recv.decryptWithAd(new Uint8Array(0), ct))).toBe(m.payload)
        }
        i++
      }
      expect(transport).toBeDefined()
    })
  }
})

describe('Noise core behaviour', () => {
  const proto = 'Noise_IK_25519_ChaChaPoly_BLAKE2s'
  const rsKey = keyPairFromSecret(new Uint8Array(32).fill(2))
  const isKey = keyPairFromSecret(new Uint8Array(32).fill(1))

  it('rejects a tampered message 1 with ERR_AUTH, whichever bit is flipped in the encrypted part', () => {
    const msg = new HandshakeState({ protocol: proto, initiator: true, s: isKey, rs: rsKey.publicKey }).writeMessage(Uint8Array.of(1, 2, 3))
    for (let bit = 32 * 8; bit < msg.byteLength * 8; bit += 7) {
      const bad = msg.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      const r = new HandshakeState({ protocol: proto, initiator: false, s: rsKey })
      expect(() => r.readMessage(bad)).toThrow(/ERR_AUTH|ERR_HANDSHAKE/)
    }
  })

  it('rejects a truncated message and a low-order ephemeral key with ERR_HANDSHAKE', () => {
    const r = new HandshakeState({ protocol: proto, initiator: false, s: rsKey })
    expect(() => r.readMessage(new Uint8Array(10))).toThrow(/ERR_HANDSHAKE/)
    const r2 = new HandshakeState({ protocol: proto, initiator: false, s: rsKey })
    expect(() => r2.readMessage(new Uint8Array(200))).toThrow(/ERR_HANDSHAKE/)
  })

  it('refuses out-of-turn use and unsupported protocol names', () => {
    const i = new HandshakeState({ protocol: proto, initiator: true, s: isKey, rs: rsKey.publicKey })
    expect(() => i.readMessage(new Uint8Array(100))).toThrow(TypeError)
    expect(() => i.split()).toThrow(TypeError)
    expect(() => new HandshakeState({ protocol: 'Noise_KK_25519_ChaChaPoly_BLAKE2s', initiator: true })).toThrow(RangeError)
    expect(() => new HandshakeState({ protocol: 'Noise_IK_448_ChaChaPoly_BLAKE2s', initiator: true })).toThrow(RangeError)
    expect(() => new HandshakeState({ protocol: proto, initiator: true })).toThrow(TypeError)
    // A kept pre-message hash replaces the hashing, not the keys, and must be HASHLEN bytes.
    expect(() => new HandshakeState({ protocol: proto, initiator: true, s: isKey, preMessageHash: new Uint8Array(32) })).toThrow(TypeError)
    expect(() => new HandshakeState({ protocol: proto, initiator: false, s: rsKey, preMessageHash: new Uint8Array(31) })).toThrow(RangeError)
  })

  it('rekeys both sides of a transport CipherState identically (§4.2 REKEY)', () => {
    const i = new HandshakeState({ protocol: proto, initiator: true, s: isKey, rs: rsKey.publicKey })
    const r = new HandshakeState({ protocol: proto, initiator: false, s: rsKey })
    r.readMessage(i.writeMessage())
    i.readMessage(r.writeMessage())
    const [a] = i.split()
    const [b] = r.split()
    a.rekey()
    b.rekey()
    expect(b.decryptWithAd(new Uint8Array(0), a.encryptWithAd(new Uint8Array(0), Uint8Array.of(9)))).toEqual(Uint8Array.of(9))
  })
})
