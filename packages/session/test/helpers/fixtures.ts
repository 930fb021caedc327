import { identityFromSeed } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Clock } from '@egtp/interface'
import type { PeerKey } from '../../src/index.ts'

/** A deterministic identity per label. */
export function identity (label: number): NodeIdentity {
  return identityFromSeed(new Uint8Array(32).fill(label))
}

export function peerOf (id: NodeIdentity): PeerKey {
  return { nodeId: id.nodeId, publicKey: id.publicKey }
}

/** A fake clock: wall time and monotonic time advance together; wall time can be offset or jump. */
export class FakeClock implements Clock {
  mono = 1_000
  offset: number
  constructor (offsetMs = 1_700_000_000_000) {
    this.offset = offsetMs
  }

  now = (): number => this.mono + this.offset
  monotonic = (): number => this.mono
  advance (ms: number): void {
    this.mono += ms
  }
}

/** A deterministic random source (xorshift32) for receiver indices. */
export function seededRandom (seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1
  return (n) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x >>>= 0
      x ^= x >>> 17
      x ^= x << 5; x >>>= 0
      out[i] = x & 0xff
    }
    return out
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array | undefined): string | undefined => b === undefined ? undefined : new TextDecoder().decode(b)

/** Run a full handshake from `a` to `b` (initiation with early data, response, confirmation); returns the frames. */
export function connect (a: { seal: (p: PeerKey, m: Uint8Array) => { frame: Uint8Array }, open: (f: Uint8Array) => { replies: Uint8Array[] } },
  b: { open: (f: Uint8Array) => { replies: Uint8Array[] } }, bKey: PeerKey, first = text('hello')): { hi: Uint8Array, hr: Uint8Array, confirm: Uint8Array } {
  const hi = a.seal(bKey, first).frame
  const hr = b.open(hi).replies[0]!
  const confirm = a.open(hr).replies[0]!
  b.open(confirm)
  return { hi, hr, confirm }
}
