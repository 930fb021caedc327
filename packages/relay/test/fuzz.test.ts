// Fuzzing relay requests: the fast-path decoder against the schema codec, and a running relay server fed random
// and mutated frames (before and after authentication) while an honest client keeps receiving. A failure is:
// anything but a CodecError from a decoder, an uncaught exception in the server, a connection the server
// neither serves nor closes, or the honest client no longer receiving.
// Bounded in CI; EGTP_FUZZ_RUNS=100000 (and EGTP_FUZZ_SEED) for a long run. Every file in fuzz-corpus/ is
// replayed on each run: add an input there when a run finds one.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { CodecError } from '@egtp/codec'
import { generateIdentity, identityFromSeed } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { relayCodec, signHello } from '../src/protocol.ts'
import type { RelayMessage } from '../src/protocol.ts'
import type { RelayServer } from '../src/index.ts'
import { decodeRelay } from '@egtp/codec/relay'
import { MemoryNetwork } from './helpers/memory-transport.ts'
import { RawRelayConn } from './helpers/raw.ts'
import { collect, registered, startClient, startServer, until } from './helpers/setup.ts'

const SEED = Number(process.env.EGTP_FUZZ_SEED ?? 2004)
const RUNS = Number(process.env.EGTP_FUZZ_RUNS ?? 1000)
const CORPUS = join(import.meta.dirname, 'fuzz-corpus')

const to = identityFromSeed(new Uint8Array(32).fill(9))
const from = identityFromSeed(new Uint8Array(32).fill(8))
const id20 = to.nodeIdBytes

/** One valid frame of every kind a node may send (and a few a relay sends, which a relay must refuse). */
const valid: Record<string, Uint8Array> = {
  hello: relayCodec.encode({ t: 'rh', k: from.publicKey, g: signHello(from, new Uint8Array(32), id20, 'client'), r: 'client', w: true, d: true, p: Uint8Array.of(1, 2) }),
  send: relayCodec.encode({ t: 'rs', e: [{ m: 1, to: id20, p: Uint8Array.of(1, 2, 3) }, { m: 2, to: id20, p: new Uint8Array(40) }] }),
  ack: relayCodec.encode({ t: 'ra', i: 1 }),
  poll: relayCodec.encode({ t: 'rp', n: 5 }),
  ping: relayCodec.encode({ t: 'ri', n: 7, r: false }),
  challenge: relayCodec.encode({ t: 'rc', n: new Uint8Array(32), id: id20, w: 4 }),
  deliver: relayCodec.encode({ t: 'rd', e: [{ i: 1, f: id20, p: Uint8Array.of(9) }] }),
  close: relayCodec.encode({ t: 'rr', c: 'ERR_RELAY_FULL', s: 'x' })
}

type Edit = [number, number, 'flip' | 'set' | 'cut' | 'insert']
const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'set', 'cut', 'insert')), { minLength: 1, maxLength: 6 })

function mutate (base: Uint8Array, list: Edit[]): Uint8Array {
  let bytes = Uint8Array.from(base)
  for (const [where, value, op] of list) {
    const i = where % Math.max(bytes.length, 1)
    if (op === 'flip') bytes[i] = bytes[i]! ^ (1 << (value % 8))
    else if (op === 'set') bytes[i] = value
    else if (op === 'cut') bytes = bytes.subarray(0, i)
    else bytes = Uint8Array.from([...bytes.subarray(0, i), value, ...bytes.subarray(i)])
  }
  return bytes
}

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_, x: unknown) => x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x))

/** decodeRelay and the schema codec agree: the same message, or both refuse with a CodecError. */
function agree (bytes: Uint8Array): void {
  const run = (f: () => RelayMessage): unknown => {
    try {
      return plain(f())
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      return 'refused'
    }
  }
  expect(run(() => decodeRelay(bytes))).toEqual(run(() => relayCodec.decode(bytes)))
}

const frameArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.constantFrom(...Object.keys(valid)), edits).map(([k, e]) => mutate(valid[k]!, e as Edit[])),
  fc.constantFrom(...Object.values(valid))
)

/** An honest client that must keep receiving, and a relay under fire. */
async function arena (cleanup: (fn: () => Promise<void> | void) => void): Promise<{ net: MemoryNetwork, server: RelayServer, stillServes: () => Promise<void> }> {
  const net = new MemoryNetwork()
  const server = await startServer(net.transport(), cleanup, { authTimeoutMs: 2000, workBits: 0, maxClientsPerSource: 1000 })
  const b = await startClient(net.transport('192.0.2.2'), cleanup, { relays: [server.endpoint()] }, to)
  await registered(b)
  const inbox = collect(b)
  const a = await startClient(net.transport('192.0.2.1'), cleanup, { register: false }, generateIdentity())
  let n = 0
  const stillServes = async (): Promise<void> => {
    const before = inbox.length
    await a.send(to.nodeId, server.endpoint(), Uint8Array.of(++n & 0xff, 1))
    await until(() => inbox.length > before, 5000, 'the honest client to receive')
  }
  await stillServes()
  return { net, server, stillServes }
}

/** Open a connection, maybe authenticate, send `frames`, and wait until the relay has answered or closed it. */
async function attack (net: MemoryNetwork, server: RelayServer, frames: Uint8Array[], auth: 'none' | 'client' | 'sender'): Promise<void> {
  const raw = await RawRelayConn.open(net.transport('198.51.100.7'), server.endpoint())
  try {
    if (auth !== 'none') await raw.authenticate(generateIdentity(), auth)
    else await raw.next('rc')
    for (const f of frames) raw.sendBytes(f)
    raw.send({ t: 'ri', n: 424242, r: false }) // a ping after the frames: answered, or the connection is closed
    for (;;) {
      const got = raw.received.findLast(m => m.t === 'ri' && m.n === 424242 && m.r) ?? raw.received.find(m => m.t === 'rr')
      if (got !== undefined || raw.conn.closed) break
      await new Promise(resolve => setTimeout(resolve, 2))
    }
  } finally {
    await raw.close()
  }
}

describe('fuzz: relay requests', () => {
  test('the corpus replays through both decoders and a running server', async ({ onTestFinished }) => {
    if (process.env.EGTP_FUZZ_WRITE_CORPUS === '1') for (const [k, v] of Object.entries(valid)) writeFileSync(join(CORPUS, `${k}.bin`), v)
    const files = readdirSync(CORPUS).filter(f => f.endsWith('.bin')).map(f => new Uint8Array(readFileSync(join(CORPUS, f))))
    expect(files.length).toBeGreaterThan(0)
    const { net, server, stillServes } = await arena(onTestFinished)
    for (const bytes of files) {
      agree(bytes)
      for (const auth of ['none', 'client', 'sender'] as const) await attack(net, server, [bytes], auth)
    }
    await stillServes()
  })

  test('decodeRelay agrees with the schema codec on random and mutated frames', () => {
    fc.assert(fc.property(frameArb, agree), { seed: SEED, numRuns: RUNS })
  })

  test('a running relay survives random and mutated frames before and after authentication', async ({ onTestFinished }) => {
    const { net, server, stillServes } = await arena(onTestFinished)
    await fc.assert(fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 6 }), fc.constantFrom('none', 'client', 'sender'), async (frames, auth) => {
      await attack(net, server, frames, auth as 'none' | 'client' | 'sender')
    }), { seed: SEED, numRuns: Math.max(1, Math.floor(RUNS / 10)) })
    await stillServes()
    await until(() => server.stats().connections === 2, 5000, 'every attack connection to be gone')
    const s = server.stats()
    expect(s.malformedFrames + s.protocolViolations).toBeGreaterThan(0)
    expect(s.queuedMessages).toBeGreaterThanOrEqual(0)
  }, 120_000)
})
