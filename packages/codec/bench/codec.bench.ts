// pnpm bench: codec throughput beside JSON of the same data, measured in the same run.
import { heading, measure, report } from '@egtp/scripts/bench'
import type { BenchResult } from '@egtp/scripts/bench'
import { FrameDecoder, createMessageCodec, nodeMessages, sessionMessages } from '../src/index.ts'

const codec = createMessageCodec([...nodeMessages, ...sessionMessages])
const id = new Uint8Array(16).fill(7)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('base64')

function compare (label: string, message: Parameters<typeof codec.encode>[0], json: unknown): BenchResult {
  heading(`${label}: encode + decode`)
  const bytes = codec.encode(message)
  const j = measure(`JSON.stringify+parse (${JSON.stringify(json).length} B)`, () => JSON.parse(JSON.stringify(json)))
  report(j)
  const c = measure(`codec encode+decode (${bytes.byteLength} B)`, () => codec.decode(codec.encode(message)))
  report(c, j)
  const decoder = new FrameDecoder()
  const framed = measure('codec encode+frame+unframe+decode', () => {
    for (const body of decoder.push(codec.encodeFrame(message))) codec.decode(body)
  })
  report(framed, c)
  console.log(`framing overhead: ${((c.opsPerSec / framed.opsPerSec - 1) * 100).toFixed(1)}% (target < 10%)`)
  return c
}

// The envelope every message travels in: a session transport frame around 64 B of ciphertext.
const ct = new Uint8Array(80).fill(3)
compare('session data frame (hd, 64 B payload)', { t: 'hd', r: 0x1234_5678, n: 1_000_123, c: ct }, { t: 'hd', v: 1, r: 0x1234_5678, n: 1_000_123, c: hex(ct) })
// A node query with an opaque 32 B payload, and with a small structured payload (decoded by msgpackr).
const body = new Uint8Array(32).fill(9)
compare('node query (bytes payload)', { t: 'q', m: id, y: 'lookup', p: body, d: 30_000 }, { t: 'q', v: 1, m: hex(id), y: 'lookup', p: hex(body), d: 30_000 })
const structured = { node: 'k2hq7m3x', want: ['tcp', 'relay'], seq: 41 }
compare('node query (structured payload)', { t: 'q', m: id, y: 'lookup', p: structured, d: 30_000 }, { t: 'q', v: 1, m: hex(id), y: 'lookup', p: structured, d: 30_000 })

heading('64 KiB payload: encode + decode')
const payload = new Uint8Array(64 * 1024).map((_, i) => i * 31)
const large = { t: 'o' as const, m: id, y: 'blob', p: payload }
const jsonL = measure('JSON.stringify+parse (base64 payload)', () => JSON.parse(JSON.stringify({ t: 'o', v: 1, m: hex(id), y: 'blob', p: hex(payload) })), { bytesPerOp: payload.byteLength })
report(jsonL)
const mpL = measure('codec encode+decode', () => codec.decode(codec.encode(large)), { bytesPerOp: payload.byteLength })
report(mpL, jsonL)
const decoder = new FrameDecoder()
const framedL = measure('codec encode+frame+unframe+decode', () => {
  for (const b of decoder.push(codec.encodeFrame(large))) codec.decode(b)
}, { bytesPerOp: payload.byteLength })
report(framedL, mpL)
console.log(`framing overhead: ${((mpL.opsPerSec / framedL.opsPerSec - 1) * 100).toFixed(1)}% (target < 10%)`)
