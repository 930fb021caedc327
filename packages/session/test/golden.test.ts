// The EGTP session transcript pinned as golden hex (PROTOCOL.md §2): fixed identities, ephemeral keys, receiver
// indices and clock. A regression check of the wire (any change here is a protocol change), not an independent
// vector; the Noise core itself is checked against the cacophony vectors in noise-vectors.test.ts.
import { describe, expect, it } from 'vitest'
import { SessionManager } from '../src/index.ts'
import { injectEphemerals, keyPairFromSecret } from '../src/testing.ts'
import { FakeClock, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function transcript (): { frames: string[], plaintexts: Array<string | undefined> } {
  const clock = new FakeClock()
  const a = new SessionManager({ identity: alice, clock, random: seededRandom(1) })
  const b = new SessionManager({ identity: bob, clock, random: seededRandom(2) })
  injectEphemerals(a, () => keyPairFromSecret(new Uint8Array(32).fill(0xa1)))
  injectEphemerals(b, () => keyPairFromSecret(new Uint8Array(32).fill(0xb2)))
  const frames: Uint8Array[] = []
  const plaintexts: Array<string | undefined> = []
  const hi = a.seal(peerOf(bob), text('hello bob')).frame
  const r1 = b.open(hi)
  const hr = r1.replies[0]!
  const r2 = a.open(hr)
  const confirm = r2.replies[0]!
  b.open(confirm)
  const hd1 = b.seal(peerOf(alice), text('hello alice')).frame
  const r3 = a.open(hd1)
  const hd2 = a.seal(peerOf(bob), text('bye')).frame
  const r4 = b.open(hd2)
  frames.push(hi, hr, confirm, hd1, hd2)
  plaintexts.push(str(r1.plaintext), str(r2.plaintext), str(r3.plaintext), str(r4.plaintext))
  return { frames: frames.map(hex), plaintexts }
}

describe('golden session transcript', () => {
  it('is deterministic', () => {
    expect(transcript()).toEqual(transcript())
  })

  it('matches the pinned bytes', () => {
    const { frames, plaintexts } = transcript()
    expect(plaintexts).toEqual(['hello bob', undefined, 'hello alice', 'bye'])
    expect(frames).toEqual(GOLDEN)
  })
})

const GOLDEN: string[] = [
  // hi: initiation + early data "hello bob"
  '85a174a26869a17601a168c48cc306fb0ef2bf8b7f93bad98155fa37daec74db0c4cbeda6c6f1dba9d36558252fe79f8648a6ebe175a270eabe8d6e010f6b4f633959bd4f36eea43bd2351041cc5e696e7d47333010c05ba86e08e46e778d3d44b71927d346688004aceab0c628d0e183348067da78497a87dabe12fffd9d57da084555269144801df23c32d3149f27719b16fa0bf5ccaa2f3a16e00a163c419680afd0c7da9bbdb0e304a17815b19201f9fd25383d3189e7e',
  // hr: bare response
  '84a174a26872a17601a172ce2101c54fa168c434db48257e1237976a74ad8cfedca00213408fe89ac6251f1b930245f242b5c31adaf44a65a7c4477c29613869aad9521f83ff719d',
  // hd: the confirmation (empty plaintext)
  '85a174a26864a17601a172ce42028206a16e01a163c41097eed2664e5ebaa539d593f790914853',
  // hd: "hello alice"
  '85a174a26864a17601a172ce2101c54fa16e00a163c41bbdbab66e9ac2e26db3a2c9f9d58d018992cd8bdbadba3e30c646c3',
  // hd: "bye"
  '85a174a26864a17601a172ce42028206a16e02a163c413f48104b96261e59efca50f8e9492ce127b91dd'
]
