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
  '85a174a26869a17601a168c48cc306fb0ef2bf8b7f93bad98155fa37daec74db0c4cbeda6c6f1dba9d36558252e5fe962afc334d29f051de9829509c8407fc1a3f982c5d9e0848df559729cee326ad671b40aa8138cca3a165a9c588fcb070e367d140b8d3df136122612a463549c1afb4125d9fe3d814aac3919f7879784dd4427c70034c1a94288de89e3637ae650cb688b6a76bf45c1bdba16e00a163c41957f6978e68b9ef0a8d9244404db9997610789e7c63ff68f848',
  // hr: bare response
  '84a174a26872a17601a172ce2101c54fa168c434db48257e1237976a74ad8cfedca00213408fe89ac6251f1b930245f242b5c31a8f44215bda7917264b4814463236f17aa1ff2d0d',
  // hd: the confirmation (empty plaintext)
  '85a174a26864a17601a172ce42028206a16e01a163c41078ab0da07e3584d879b2bc26e08a08c7',
  // hd: "hello alice"
  '85a174a26864a17601a172ce2101c54fa16e00a163c41b09b9dfc5352afba1621b5256fcb26f4588a36993d2d31cc8f1175c',
  // hd: "bye"
  '85a174a26864a17601a172ce42028206a16e02a163c41369b47933c4e11ea2860c8555c7e4758195f534'
]
