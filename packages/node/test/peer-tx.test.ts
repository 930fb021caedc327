import { decodeBatch } from '@egtp/codec/node'
import { describe, expect, test } from 'vitest'
import { bytesKey } from '../src/ids.ts'
import { PeerOutbound } from '../src/outbound.ts'
import { PeerTx } from '../src/peer-tx.ts'

const id = (n: number): Uint8Array => new Uint8Array(16).fill(n)

/** The full acknowledgements in a batch taken from `tx` (the IDs' first bytes). */
function takenAcks (tx: PeerTx): number[] {
  const batch = tx.takeBatch(new PeerOutbound(new Uint8Array(8)), undefined)
  if (batch === undefined) return []
  const parts = batch.parts
  const plain = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let pos = 0
  for (const p of parts) { plain.set(p, pos); pos += p.byteLength }
  const acks: number[] = []
  for (const m of decodeBatch(plain).messages) {
    if (!(m instanceof Error) && m.t === 'k' && m.m !== undefined) for (const x of m.m) acks.push(x[0]!)
  }
  return acks
}

describe('PeerTx full acknowledgements', () => {
  test('a lone one is held without a map: the same ID twice is one, a reply withdraws it, a batch takes it', () => {
    const tx = new PeerTx(64 * 1024)
    expect(tx.addAck(id(1))).toBe(false) // (false: no map was made)
    expect(tx.addAck(id(1))).toBe(false) // (the same bytes in a new array: the same ID)
    expect([tx.fullAcks, tx.hasAcks(), tx.compact()]).toEqual([1, true, false])
    tx.deleteAck(id(2), bytesKey(id(2)))
    expect(tx.fullAcks).toBe(1)
    tx.deleteAck(id(1), bytesKey(id(1)))
    expect([tx.fullAcks, tx.hasAcks(), tx.compact()]).toEqual([0, false, true])
    tx.addAck(id(3))
    expect(takenAcks(tx)).toEqual([3])
    expect([tx.fullAcks, tx.hasWork()]).toEqual([0, false])
  })

  test('a second one makes a map (reported, for compaction); emptied, it is dropped; a batch takes them all', () => {
    const tx = new PeerTx(64 * 1024)
    tx.addAck(id(1))
    expect(tx.addAck(id(2))).toBe(true)
    expect(tx.addAck(id(3))).toBe(false)
    expect(tx.fullAcks).toBe(3)
    tx.deleteAck(id(2), bytesKey(id(2)))
    expect(takenAcks(tx)).toEqual([1, 3])
    tx.addAck(id(4))
    tx.addAck(id(5))
    tx.deleteAck(id(4), bytesKey(id(4)))
    tx.deleteAck(id(5), bytesKey(id(5)))
    expect([tx.fullAcks, tx.compact()]).toEqual([0, true])
    tx.addAck(id(6))
    tx.addAck(id(7))
    tx.clearAcks()
    expect([tx.fullAcks, takenAcks(tx)]).toEqual([0, []])
  })
})
