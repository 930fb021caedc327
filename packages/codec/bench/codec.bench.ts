// pnpm bench: codec throughput beside JSON of the same data, measured in the same run.
import { heading, measure, report } from '@egtp/scripts/bench'
import { FrameDecoder, createMessageCodec, encodeFrame, nodeMessages } from '../src/index.ts'

const codec = createMessageCodec(nodeMessages)
const id = new Uint8Array(16).fill(7)
const hexId = Buffer.from(id).toString('hex')

const small = { t: 'q' as const, m: id, y: 'lookup', p: { node: 'k2hq7m3x', want: ['tcp', 'relay'], seq: 41 }, d: 30_000 }
const smallJson = { t: 'q', v: 1, m: hexId, y: 'lookup', p: { node: 'k2hq7m3x', want: ['tcp', 'relay'], seq: 41 }, d: 30_000 }
const payload = new Uint8Array(64 * 1024).map((_, i) => i * 31)
const large = { t: 'o' as const, m: id, y: 'blob', p: payload }
const largeJson = { t: 'o', v: 1, m: hexId, y: 'blob', p: Buffer.from(payload).toString('base64') }

heading('small envelope (query, ~90 B): encode + decode')
const smallBytes = codec.encode(small).byteLength
const json = measure(`JSON.stringify+parse (${JSON.stringify(smallJson).length} B)`, () => JSON.parse(JSON.stringify(smallJson)))
report(json)
const mp = measure(`codec encode+decode (${smallBytes} B)`, () => codec.decode(codec.encode(small)))
report(mp, json)
const framed = measure('codec encode+frame+unframe+decode', () => {
  for (const body of new FrameDecoder().push(encodeFrame(codec.encode(small)))) codec.decode(body)
})
report(framed, mp)
console.log(`framing overhead: ${((mp.opsPerSec / framed.opsPerSec - 1) * 100).toFixed(1)}% (target < 10%)`)

heading('64 KiB payload: encode + decode')
const jsonL = measure('JSON.stringify+parse (base64 payload)', () => JSON.parse(JSON.stringify(largeJson)), { bytesPerOp: payload.byteLength })
report(jsonL)
const mpL = measure('codec encode+decode', () => codec.decode(codec.encode(large)), { bytesPerOp: payload.byteLength })
report(mpL, jsonL)
const decoder = new FrameDecoder()
const framedL = measure('codec encode+frame+unframe+decode', () => {
  for (const body of decoder.push(encodeFrame(codec.encode(large)))) codec.decode(body)
}, { bytesPerOp: payload.byteLength })
report(framedL, mpL)
console.log(`framing overhead: ${((mpL.opsPerSec / framedL.opsPerSec - 1) * 100).toFixed(1)}% (target < 10%)`)
