// The demo network (grows with each package): for now, frames and decodes EGTP messages, and shows a
// hostile frame being refused.
import { FrameDecoder, createMessageCodec, encodeFrames, nodeMessages } from '@egtp/codec'
import { isEgtpError } from '@egtp/interface'

const codec = createMessageCodec(nodeMessages)
const id = (n: number): Uint8Array => new Uint8Array(16).fill(n)
const wire = encodeFrames([
  codec.encode({ t: 'q', m: id(1), y: 'ping', p: { hello: 'world' }, d: 5000 }),
  codec.encode({ t: 'a', m: id(1), p: 'pong' })
])
const decoder = new FrameDecoder({ maxFrameBytes: 1024 })
let ok = true
for (let i = 0; i < wire.length; i += 7) {
  for (const body of decoder.push(wire.subarray(i, i + 7))) {
    const m = codec.decode(body)
    process.stdout.write(`decoded ${m.t} ${JSON.stringify(m, (_k, v: unknown) => v instanceof Uint8Array ? `<${v.length} bytes>` : v)}\n`)
  }
}
try {
  new FrameDecoder({ maxFrameBytes: 1024 }).push(Uint8Array.of(0, 0, 0x10, 0x01))
  ok = false
} catch (err) {
  process.stdout.write(`refused oversized frame: ${isEgtpError(err, 'ERR_FRAME_TOO_LARGE') ? 'ERR_FRAME_TOO_LARGE' : String(err)}\n`)
}
process.exitCode = ok ? 0 : 1
