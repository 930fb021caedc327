import { describe, expect, test } from 'vitest'
import {
  createMessageCodec, defineMessage, f, nodeMessages, sessionMessages, recordMessages, encodeValue, PROTOCOL_VERSION
} from '../src/index.ts'
import type { MessageOf } from '../src/index.ts'

const id16 = new Uint8Array(16).fill(1)
const node = createMessageCodec(nodeMessages)
const session = createMessageCodec(sessionMessages)
const record = createMessageCodec(recordMessages)

const record1 = {
  t: 'cr' as const,
  id: new Uint8Array(20).fill(2),
  k: new Uint8Array(32).fill(3),
  q: 7,
  x: 1_800_000_000_000,
  e: [{ kind: 'tcp' as const, host: '127.0.0.1', port: 4000 }, { kind: 'relay' as const, relay: 'abc', host: 'localhost', port: 5000 }],
  s: ['relay'],
  g: new Uint8Array(64).fill(4)
}

function record1WithoutTag (): Omit<typeof record1, 't'> {
  const { t: _t, ...rest } = record1
  return rest
}

describe('round trips for every message type', () => {
  const samples = {
    node: [
      { t: 'q', m: id16, y: 'ping', p: { n: 1, b: Uint8Array.of(9) }, d: 5000 },
      { t: 'q', m: id16, y: 'ping', p: null },
      { t: 'a', m: id16, p: [1, 2] },
      { t: 'a', m: id16, e: { c: 'ERR_NO_HANDLER', s: 'no handler for x' } },
      { t: 'o', m: id16, y: 'chat', p: 'hello' },
      { t: 'k', m: [id16, id16] },
      { t: 'ci', r: record1WithoutTag() }
    ],
    session: [
      { t: 'hi', h: new Uint8Array(96) },
      { t: 'hi', h: new Uint8Array(140), n: 0, c: new Uint8Array(40) },
      { t: 'hr', r: 0xffffffff, h: new Uint8Array(52), n: 3, c: new Uint8Array(17) },
      { t: 'hd', r: 2, n: 2 ** 40, c: new Uint8Array(16) },
      { t: 'hu', r: 9, n: 1, k: new Uint8Array(32), g: new Uint8Array(64) },
      { t: 'hi', h: new Uint8Array(140), n: 1, c: new Uint8Array(20), m: new Uint8Array(16) },
      { t: 'hk', k: new Uint8Array(32), x: new Uint8Array(24), c: new Uint8Array(32) }
    ],
    record: [record1]
  }
  const codecs = { node, session, record }
  for (const [name, list] of Object.entries(samples)) {
    test.each(list.map(m => [m.t, m]))(`${name} %s`, (_t, message) => {
      const codec = codecs[name as keyof typeof codecs]
      const encoded = codec.encode(message as never)
      const decoded = codec.decode(encoded)
      expect(decoded).toEqual(message)
      expect(codec.encode(decoded as never)).toEqual(encoded)
    })
  }
})


describe('canonical bytes', () => {
  test('field order in the object does not matter; schema order does', () => {
    const a = node.encode({ t: 'o', m: id16, y: 'x', p: 1 })
    const b = node.encode({ p: 1, y: 'x', m: id16, t: 'o' } as MessageOf<typeof nodeMessages[number]>)
    expect(a).toEqual(b)
    // t, v first, then fields in schema order: 85 a174 a16f a176 01 a16d c410… a179 a178 a170 01
    expect(Buffer.from(a).toString('hex')).toBe('85a174a16fa17601a16dc41001010101010101010101010101010101a179a178a17001')
  })
})

describe('validation errors', () => {
  const bad = (value: unknown): Uint8Array => encodeValue(value)
  test('unknown type is ERR_UNKNOWN_TYPE', () => {
    expect(() => node.decode(bad({ t: 'zz', v: 1 }))).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_TYPE' }))
  })
  test('wrong version is ERR_VERSION', () => {
    expect(() => node.decode(bad({ t: 'o', v: PROTOCOL_VERSION + 1, m: id16, y: 'x', p: 1 }))).toThrow(expect.objectContaining({ code: 'ERR_VERSION' }))
  })
  test.each([
    ['missing field', { t: 'o', v: 1, m: id16, y: 'x' }, /o\.p: missing/],
    ['extra field', { t: 'o', v: 1, m: id16, y: 'x', p: 1, z: 2 }, /unexpected key "z"/],
    ['short id', { t: 'o', v: 1, m: new Uint8Array(15), y: 'x', p: 1 }, /o\.m: expected 16 bytes, got 15/],
    ['wrong type', { t: 'o', v: 1, m: id16, y: 5, p: 1 }, /o\.y: expected a string/],
    ['empty type name', { t: 'o', v: 1, m: id16, y: '', p: 1 }, /o\.y/],
    ['negative counter', { t: 'hd', v: 1, r: 1, n: -1, c: new Uint8Array(16) }, /hd\.n/],
    ['float counter', { t: 'hd', v: 1, r: 1, n: 1.5, c: new Uint8Array(16) }, /hd\.n/],
    ['index above 32 bits', { t: 'hd', v: 1, r: 2 ** 32, n: 1, c: new Uint8Array(16) }, /hd\.r/],
    ['bad endpoint kind', { t: 'cr', v: 1, ...record1WithoutTag(), e: [{ kind: 'udp', host: 'a', port: 1 }] }, /cr\.e\[0\]\.kind/],
    ['bad host', { t: 'cr', v: 1, ...record1WithoutTag(), e: [{ kind: 'tcp', host: 'a b', port: 1 }] }, /cr\.e\[0\]\.host/],
    ['too many acks', { t: 'k', v: 1, m: new Array(513).fill(id16) }, /k\.m: expected an array of 1\.\.512/],
    ['not a map', [1, 2], /message is not a map/]
  ])('%s is ERR_FIELD', (_name, value, message) => {
    const codec = (value as { t?: string }).t?.startsWith('h') === true ? session : (value as { t?: string }).t === 'cr' ? record : node
    expect(() => codec.decode(bad(value))).toThrow(expect.objectContaining({ code: 'ERR_FIELD', message: expect.stringMatching(message) }))
  })

  test('a codec refuses duplicate types and reserved keys', () => {
    const A = defineMessage('a1', { x: f.uint() })
    expect(() => createMessageCodec([A, A])).toThrow(TypeError)
    expect(() => defineMessage('b', { t: f.uint() })).toThrow(TypeError)
  })

  test('binary fields come back as plain Uint8Array', () => {
    const m = node.decode(node.encode({ t: 'o', m: id16, y: 'x', p: { b: Uint8Array.of(1) } }))
    expect(m.t === 'o' && (m.m as Uint8Array).constructor).toBe(Uint8Array)
    expect(m.t === 'o' && (m.p as { b: Uint8Array }).b.constructor).toBe(Uint8Array)
  })
})

describe('encodeFrame', () => {
  test('equals encodeFrame(encode(m)) and respects maxFrameBytes', async () => {
    const { encodeFrame } = await import('../src/index.ts')
    const m = { t: 'o' as const, m: id16, y: 'x', p: new Uint8Array(100) }
    expect(node.encodeFrame(m)).toEqual(encodeFrame(node.encode(m)))
    expect(() => node.encodeFrame(m, 50)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }))
  })

  test('the writer grows for large messages and is reused safely', () => {
    const big = node.encode({ t: 'o', m: id16, y: 'x', p: new Uint8Array(200_000).fill(5) })
    const small = node.encode({ t: 'o', m: id16, y: 'x', p: 1 })
    const decoded = node.decode(big)
    expect(decoded.t === 'o' && (decoded.p as Uint8Array).byteLength).toBe(200_000)
    expect(node.decode(small)).toEqual({ t: 'o', m: id16, y: 'x', p: 1 })
  })
})
