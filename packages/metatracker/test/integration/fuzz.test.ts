// Fuzzed metatracker requests against a live tracker over real sockets: random bytes, mutated valid requests
// and random msgpack values as the request payload. Each gets a coded answer or a coded refusal (never an
// uncaught exception, a hang or a crash), and the tracker still serves a real client afterwards.
// EGTP_FUZZ_RUNS / EGTP_FUZZ_SEED as in the other fuzz suites.
import fc from 'fast-check'
import { encodeContactRecord, nodeIdToBytes } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { TRACKER_QUERY_TYPE, answerCodec, requestCodec } from '../../src/protocol.ts'
import { ask, listening, rawNode, record, testnet } from '../helpers/net.ts'

const SEED = Number(process.env.EGTP_FUZZ_SEED ?? 2004)
const RUNS = Number(process.env.EGTP_FUZZ_RUNS ?? 150)

describe('fuzzed tracker requests', () => {
  test('garbage, mutated and ill-typed requests are answered with codes; the tracker serves on', async ({ onTestFinished }) => {
    // The sender is rate-limited like anyone: lift the limits this test needs, by name.
    const net = await testnet(onTestFinished, { size: 1, server: { publishesPerSecond: 1_000_000, lookupsPerSecond: 1_000_000 } })
    const tracker = net.trackers[0]!.node.nodeId
    const raw = await rawNode(onTestFinished, net.records(), { commstrats: [listening()] })
    const { record: valid } = record({ services: ['relay'] })
    const samples = [
      requestCodec.encode({ t: 'mp', r: encodeContactRecord(valid) }),
      requestCodec.encode({ t: 'ml', ids: [new Uint8Array(20)] }),
      requestCodec.encode({ t: 'md', s: 'relay', n: 3 })
    ]
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.tuple(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }))
        .map(([base, edits]) => { const b = Uint8Array.from(base); for (const [i, v] of edits) b[i % b.length] = v; return b }),
      fc.jsonValue({ maxDepth: 2 }) // any value the node can carry (it refuses to encode others itself)
    )
    let answered = 0
    let refused = 0
    await fc.assert(fc.asyncProperty(payload, async (p) => {
      try {
        const reply = await raw.query(tracker, TRACKER_QUERY_TYPE, p, { timeoutMs: 5_000 })
        expect(reply).toBeInstanceOf(Uint8Array)
        answerCodec.decode(reply as Uint8Array) // a well-formed answer (perhaps a coded refusal)
        answered++
      } catch (err) {
        // The handler refused the request: a coded remote error, never a timeout (no hang).
        expect(isEgtpError(err), String(err)).toBe(true)
        expect((err as { code: string }).code).not.toBe('ERR_TIMEOUT')
        refused++
      }
    }), { seed: SEED, numRuns: RUNS })
    expect(answered + refused).toBe(RUNS)
    // Still serving: a publish and a lookup of a real record.
    expect(await ask(raw, tracker, { t: 'mp', r: encodeContactRecord(valid) })).toMatchObject({ h: expect.any(Number) })
    const found = await ask(raw, tracker, { t: 'ml', ids: [nodeIdToBytes(valid.nodeId)] })
    expect((found as { r: Uint8Array[] }).r).toHaveLength(1)
  }, 120_000)
})
