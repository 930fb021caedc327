// The wire contract of message numbers (PROTOCOL.md §4.2, "Numbering"): a client numbers its messages from
// FIRST_MESSAGE_NUMBER, so each number encodes in 5 bytes and a relay can turn a one-entry `rs` frame into the
// `rd` frame that delivers it, in place. A client numbering otherwise is still served (the relay copies).
import fc from 'fast-check'
import { generateIdentity } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { FIRST_MESSAGE_NUMBER, relayCodec } from '../src/protocol.ts'
import type { RelayMessage } from '../src/protocol.ts'
import { decodeRelay, deliverInPlace, encodeDeliverOne, encodeSendOne } from '@egtp/codec/relay'
import { OWN_FRAME_BYTES } from '../src/constants.ts'
import { MemoryNetwork } from './helpers/memory-transport.ts'
import { RawRelayConn } from './helpers/raw.ts'
import { bytes, collect, serverWithClient, startClient, until } from './helpers/setup.ts'

describe('message numbers (wire contract)', () => {
  test('the relay client numbers from FIRST_MESSAGE_NUMBER, each number in 5 bytes, increasing', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const { server, bId } = await serverWithClient(net, onTestFinished)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const known = net.conns.length
    await a.send(bId.nodeId, server.endpoint(), bytes(10))
    const conn = net.conns.slice(known).find(c => c.direction === 'outbound')!
    conn.record = true
    await Promise.all([bytes(100), bytes(OWN_FRAME_BYTES + 1), bytes(5), bytes(3 * OWN_FRAME_BYTES)].map(async p => {
      await a.send(bId.nodeId, server.endpoint(), p)
    }))
    const numbers: number[] = []
    for (const frame of conn.sent) {
      const msg = relayCodec.decode(frame)
      if (msg.t !== 'rs') continue
      for (const e of msg.e) {
        numbers.push(e.m)
        // 0xce: msgpack uint32, the 5-byte form, right after the entry's `m` key.
        const at = indexOf(frame, Uint8Array.of(0xa1, 0x6d, 0xce))
        expect(at, 'm as uint32').toBeGreaterThanOrEqual(0)
      }
    }
    expect(numbers).toEqual([FIRST_MESSAGE_NUMBER + 1, FIRST_MESSAGE_NUMBER + 2, FIRST_MESSAGE_NUMBER + 3, FIRST_MESSAGE_NUMBER + 4])
  })

  test('with such a number, a large message is delivered in place at every queue position below 2^32', () => {
    const to = new Uint8Array(20).fill(5)
    const from = new Uint8Array(20).fill(4)
    const payload = new Uint8Array(OWN_FRAME_BYTES).fill(6)
    fc.assert(fc.property(
      fc.integer({ min: FIRST_MESSAGE_NUMBER, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      (m, position) => {
        const rs = new Uint8Array(Buffer.concat(encodeSendOne(m, to, payload, payload.byteLength))) // as received
        const view = (decodeRelay(rs) as Extract<RelayMessage, { t: 'rs' }>).e[0]!.p
        const rd = deliverInPlace(rs, view, position, from)
        expect(rd).toBeDefined()
        expect(rd!.buffer).toBe(rs.buffer)
        expect(Buffer.from(rd!).equals(Buffer.from(encodeDeliverOne(position, from, payload).frame))).toBe(true)
      }), { numRuns: 200 })
  })

  test('a client numbering from 1 is still served: its large message arrives intact (copied)', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const { server, bId, b } = await serverWithClient(net, onTestFinished)
    const got = collect(b)
    const raw = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => raw.close())
    await raw.authenticate(generateIdentity(), 'sender')
    // Queue positions past 127 need more bytes than m = 1: the rd head cannot replace the rs head.
    const filler = await startClient(net.transport(), onTestFinished, { register: false })
    for (let i = 0; i < 200; i++) await filler.send(bId.nodeId, server.endpoint(), bytes(1))
    await until(() => got.length === 200)
    const large = new Uint8Array(2 * OWN_FRAME_BYTES).map((_, i) => i % 251)
    raw.send({ t: 'rs', e: [{ m: 1, to: bId.nodeIdBytes, p: large }] })
    expect(await raw.next('ry')).toMatchObject({ m: 1 })
    await until(() => got.length === 201)
    expect(Buffer.from(got[200]!.frame).equals(Buffer.from(large))).toBe(true)
  })
})

function indexOf (haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack).indexOf(Buffer.from(needle))
}
