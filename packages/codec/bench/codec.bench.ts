// pnpm bench: codec throughput beside JSON of the same data, measured in the same run.
import { heading, measure, report } from '@egtp/scripts/bench'
import type { BenchResult } from '@egtp/scripts/bench'
import { FrameDecoder, createMessageCodec, nodeMessages, sessionMessages } from '../src/index.ts'

const codec = createMessageCodec([...nodeMessages, ...sessionMessages])
const id = new Uint8Array(16).fill(7)

/*
 * The JSON baseline carries the same data: JSON has no bytes, so byte fields travel as base64 and the
 * round trip converts them both ways (bytes in, bytes out), as an application using JSON would have to.
 */
const toJson = (v: unknown): unknown => v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : v
function jsonRoundTrip (message: Record<string, unknown>, byteKeys: readonly string[]): unknown {
  const plain: Record<string, unknown> = {}
  for (const k in message) plain[k] = toJson(message[k])
  const back = JSON.parse(JSON.stringify(plain)) as Record<string, unknown>
  for (const k of byteKeys) back[k] = new Uint8Array(Buffer.from(back[k] as string, 'base64'))
  return back
}

function compare (label: string, message: Parameters<typeof codec.encode>[0], byteKeys: readonly string[]): BenchResult {
  heading(`${label}: encode + decode`)
  const bytes = codec.encode(message)
  const withVersion = { ...message, v: 1 } as Record<string, unknown>
  const jsonBytes = JSON.stringify(jsonRoundTrip(withVersion, [])).length
  const j = measure(`JSON.stringify+parse, bytes as base64 (${jsonBytes} B)`, () => jsonRoundTrip(withVersion, byteKeys))
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
compare('session data frame (hd, 64 B payload)', { t: 'hd', r: 0x1234_5678, n: 1_000_123, c: ct }, ['c'])
// A node query with an opaque 32 B payload, and with a small structured payload (decoded by msgpackr).
const body = new Uint8Array(32).fill(9)
compare('node query (bytes payload)', { t: 'q', m: id, y: 'lookup', p: body, d: 30_000 }, ['m', 'p'])
const structured = { node: 'k2hq7m3x', want: ['tcp', 'relay'], seq: 41 }
compare('node query (structured payload)', { t: 'q', m: id, y: 'lookup', p: structured, d: 30_000 }, ['m'])

heading('64 KiB payload: encode + decode')
const payload = new Uint8Array(64 * 1024).map((_, i) => i * 31)
const large = { t: 'o' as const, m: id, y: 'blob', p: payload }
const jsonL = measure('JSON.stringify+parse, bytes as base64', () => jsonRoundTrip({ ...large, v: 1 }, ['m', 'p']), { bytesPerOp: payload.byteLength })
report(jsonL)
const mpL = measure('codec encode+decode', () => codec.decode(codec.encode(large)), { bytesPerOp: payload.byteLength })
report(mpL, jsonL)
const decoder = new FrameDecoder()
const framedL = measure('codec encode+frame+unframe+decode', () => {
  for (const b of decoder.push(codec.encodeFrame(large))) codec.decode(b)
}, { bytesPerOp: payload.byteLength })
report(framedL, mpL)
console.log(`framing overhead: ${((mpL.opsPerSec / framedL.opsPerSec - 1) * 100).toFixed(1)}% (target < 10%)`)
