// The frames of the wire corpus: deterministic inputs (byte patterns, fixed numbers), one or more of every
// message type the system sends, in the shapes the fast paths and the schema codec each cover. The recorder
// (record.ts) encodes them and stores bytes + decoded value in wire-corpus.json; the corpus test replays it.

/** Which decoder reads a frame. */
export type CorpusCodec = 'node' | 'session' | 'relay' | 'trackerRequest' | 'trackerAnswer' | 'record' | 'bootpage'

export interface CorpusFrame {
  name: string
  codec: CorpusCodec
  value: Record<string, unknown>
}

/** `n` bytes of a pattern seeded by `seed` (never random: the corpus is the same on every run). */
export function pattern (n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 17 + 7) & 0xff
  return out
}

const epoch = pattern(8, 1)
const id = (counter: number): Uint8Array => {
  const out = new Uint8Array(16)
  out.set(epoch, 0)
  new DataView(out.buffer).setUint32(8, Math.floor(counter / 0x1_0000_0000))
  new DataView(out.buffer).setUint32(12, counter >>> 0)
  return out
}
const nodeId = (seed: number): Uint8Array => pattern(20, seed)
const key = (seed: number): Uint8Array => pattern(32, seed)
const sig = (seed: number): Uint8Array => pattern(64, seed)

const record = {
  id: nodeId(2),
  k: key(3),
  q: 7,
  x: 1_800_000_000_000,
  e: [{ kind: 'tcp', host: '127.0.0.1', port: 4000 }, { kind: 'relay', relay: 'r1', host: 'localhost', port: 5000 }],
  s: ['relay'],
  g: sig(4)
}

/**
 * Node messages (inside sessions). `encode` is given so batches can hold the encoded messages before them.
 */
export function nodeFrames (encode: (m: Record<string, unknown>) => Uint8Array): CorpusFrame[] {
  const n = (name: string, value: Record<string, unknown>): CorpusFrame => ({ name, codec: 'node', value })
  const q = n('q bytes payload', { t: 'q', m: id(1), y: 'ping', p: pattern(40, 5) })
  const frames: CorpusFrame[] = [
    q,
    n('q bytes payload with deadline', { t: 'q', m: id(2), y: 'ping', p: pattern(3, 6), d: 30_000 }),
    n('q bytes payload bin16, deadline u32', { t: 'q', m: id(3), y: 'bulk', p: pattern(300, 7), d: 100_000 }),
    n('q object payload', { t: 'q', m: id(4), y: 'metatracker', p: { n: 1, b: pattern(5, 8), l: [1, 'x', null, true] }, d: 5000 }),
    n('q nil payload', { t: 'q', m: id(5), y: 'ping', p: null }),
    n('q small int payload', { t: 'q', m: id(6), y: 'ping', p: 42 }),
    n('q large counter id', { t: 'q', m: id(2 ** 40 + 3), y: 'ping', p: pattern(1, 9) }),
    n('a payload', { t: 'a', m: id(1), p: pattern(16, 10) }),
    n('a object payload', { t: 'a', m: id(4), p: [1, 2, { z: 'ok' }] }),
    n('a error', { t: 'a', m: id(5), e: { c: 'ERR_NO_HANDLER', s: 'no handler for ping' } }),
    n('a empty', { t: 'a', m: id(6) }),
    n('o bytes payload', { t: 'o', m: id(7), y: 'chat', p: pattern(24, 11) }),
    n('o bytes payload with deadline', { t: 'o', m: id(8), y: 'chat', p: pattern(70_000, 12), d: 600_000 }),
    n('o string payload', { t: 'o', m: id(9), y: 'chat', p: 'hello, world' }),
    n('o unicode type', { t: 'o', m: id(10), y: 'chät', p: pattern(2, 13) }),
    n('k full ids', { t: 'k', m: [id(1), id(7)] }),
    n('k compact', { t: 'k', e: epoch, c: [1, 2, 3, 200, 70_000, 2 ** 32 - 1] }),
    n('k compact 20 counters', { t: 'k', e: epoch, c: Array.from({ length: 20 }, (_, i) => i * 1000) }),
    n('k compact counter beyond u32', { t: 'k', e: epoch, c: [2 ** 40] }),
    n('k both forms', { t: 'k', m: [id(3)], e: epoch, c: [4] }),
    n('u uncertain', { t: 'u', m: [id(11), id(12)] }),
    n('ci contact info', { t: 'ci', r: record })
  ]
  const parts = (names: string[]): Uint8Array[] => names.map(nm => encode(frames.find(f => f.name === nm)!.value))
  frames.push(
    n('b empty', { t: 'b', x: [] }),
    n('b with floor', { t: 'b', f: id(1), x: parts(['q bytes payload', 'k compact', 'a payload']) }),
    n('b without floor', { t: 'b', x: parts(['o bytes payload', 'q object payload', 'k full ids', 'ci contact info']) }),
    n('b 17 entries (array16)', { t: 'b', f: id(2), x: Array.from({ length: 17 }, () => encode(q.value)) }),
    n('b large entry (bin32)', { t: 'b', x: parts(['o bytes payload with deadline', 'q bytes payload bin16, deadline u32']) })
  )
  return frames
}

export function sessionFrames (): CorpusFrame[] {
  const s = (name: string, value: Record<string, unknown>): CorpusFrame => ({ name, codec: 'session', value })
  return [
    s('hi bare', { t: 'hi', h: pattern(96 + 44 + 16, 20) }),
    s('hi with early data', { t: 'hi', h: pattern(96 + 44 + 16, 21), n: 0, c: pattern(80, 22) }),
    s('hr bare', { t: 'hr', r: 0x1234_5678, h: pattern(48 + 4 + 16, 23) }),
    s('hr with data', { t: 'hr', r: 7, h: pattern(68, 24), n: 0, c: pattern(40, 25) }),
    s('hd small', { t: 'hd', r: 5, n: 1, c: pattern(16, 26) }),
    s('hd u8 u16', { t: 'hd', r: 200, n: 300, c: pattern(100, 27) }),
    s('hd u32 counter, bin16', { t: 'hd', r: 0xffff_ffff, n: 0x1_0000_0001, c: pattern(1000, 28) }),
    s('hd bin32', { t: 'hd', r: 70_000, n: 2 ** 20, c: pattern(70_016, 29) }),
    s('hu with counter', { t: 'hu', r: 9, n: 12, k: key(30), g: sig(31) }),
    s('hu without counter', { t: 'hu', r: 0x8000_0000, k: key(32), g: sig(33) }),
    s('hc clock refusal', { t: 'hc', i: pattern(32, 34), w: 1_765_000_000_000, k: key(35), g: sig(36) })
  ]
}

export function relayFrames (): CorpusFrame[] {
  const r = (name: string, value: Record<string, unknown>): CorpusFrame => ({ name, codec: 'relay', value })
  return [
    r('rc', { t: 'rc', n: pattern(32, 40), id: nodeId(41) }),
    r('rc with work', { t: 'rc', n: pattern(32, 42), id: nodeId(43), w: 12 }),
    r('rh client', { t: 'rh', k: key(44), g: sig(45), r: 'client' }),
    r('rh all fields', { t: 'rh', k: key(46), g: sig(47), r: 'client', w: false, d: true, p: pattern(8, 48) }),
    r('rh sender', { t: 'rh', k: key(49), g: sig(50), r: 'sender', d: false }),
    r('rw', { t: 'rw', id: nodeId(51), e: pattern(8, 52), p: true, x: 1024 * 1024 }),
    r('rw with queue', { t: 'rw', id: nodeId(53), e: pattern(8, 54), p: false, x: 65_536, q: 17 }),
    r('rr', { t: 'rr', c: 'ERR_AUTH', s: 'bad signature' }),
    r('rs one', { t: 'rs', e: [{ m: 1, to: nodeId(55), p: pattern(10, 56) }] }),
    r('rs many', { t: 'rs', e: Array.from({ length: 17 }, (_, i) => ({ m: 100 + i * 1000, to: nodeId(57 + (i % 2)), p: pattern(1 + i * 20, 59 + i) })) }),
    r('rs large numbers and payloads', { t: 'rs', e: [{ m: 2 ** 32 + 1, to: nodeId(60), p: pattern(300, 61) }, { m: 70_000, to: nodeId(60), p: pattern(70_000, 62) }] }),
    r('ry', { t: 'ry', m: 12_345 }),
    r('rx', { t: 'rx', e: [{ m: 3, c: 'ERR_RELAY_FULL' }, { m: 4, c: 'ERR_RELAY_UNKNOWN_RECIPIENT' }] }),
    r('rl', { t: 'rl', e: [{ m: 5, c: 'ERR_TIMEOUT' }] }),
    r('rv', { t: 'rv', m: [1, 2, 300] }),
    r('rv many', { t: 'rv', m: Array.from({ length: 20 }, (_, i) => i * 5000) }),
    r('rd one', { t: 'rd', e: [{ i: 0, f: nodeId(63), p: pattern(33, 64) }] }),
    r('rd many', { t: 'rd', e: Array.from({ length: 16 }, (_, i) => ({ i: 2 ** 31 + i, f: nodeId(65 + (i % 3)), p: pattern(5 + i * 300, 68 + i) })) }),
    r('rd large', { t: 'rd', e: [{ i: 7, f: nodeId(69), p: pattern(66_000, 70) }] }),
    r('ra', { t: 'ra', i: 99 }),
    r('rp', { t: 'rp', n: 256 }),
    r('rq', { t: 'rq', q: 0 }),
    r('ri ping', { t: 'ri', n: 1, r: false }),
    r('ri pong', { t: 'ri', n: 0xffff_ffff, r: true })
  ]
}

export function trackerFrames (encodeRecord: (m: Record<string, unknown>) => Uint8Array): CorpusFrame[] {
  const req = (name: string, value: Record<string, unknown>): CorpusFrame => ({ name, codec: 'trackerRequest', value })
  const ans = (name: string, value: Record<string, unknown>): CorpusFrame => ({ name, codec: 'trackerAnswer', value })
  const cr = encodeRecord({ t: 'cr', ...record })
  return [
    { name: 'cr contact record', codec: 'record', value: { t: 'cr', ...record } },
    { name: 'cr no endpoints', codec: 'record', value: { t: 'cr', ...record, e: [], s: [] } },
    req('mp', { t: 'mp', r: cr }),
    req('ml', { t: 'ml', ids: [nodeId(80), nodeId(81)] }),
    req('md', { t: 'md', s: 'relay', n: 8 }),
    req('mg', { t: 'mg', id: nodeId(82), k: key(83), q: 9, g: sig(84) }),
    ans('mpa held', { t: 'mpa', h: 3_600_000 }),
    ans('mpa refused', { t: 'mpa', c: 'ERR_STALE_RECORD' }),
    ans('mla', { t: 'mla', r: [cr] }),
    ans('mla empty', { t: 'mla', r: [] }),
    ans('mda', { t: 'mda', r: [cr, cr] }),
    ans('mga', { t: 'mga', d: true }),
    ans('mga refused', { t: 'mga', c: 'ERR_SIGNATURE', d: false })
  ]
}

/** The bootpage's signed value (its canonical bytes are what the page signature covers). */
export function bootpageFrames (): CorpusFrame[] {
  return [{
    name: 'bootpage signed value',
    codec: 'bootpage',
    value: { v: 1, k: key(90), i: 1_765_000_000_000, x: 1_765_086_400_000, r: [{ ...record, g: sig(91) }, { ...record, id: nodeId(92), q: 1, g: sig(93) }] }
  }]
}
