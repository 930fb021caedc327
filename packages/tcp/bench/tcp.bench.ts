// pnpm bench: framed one-way throughput over one loopback connection in one process, beside raw
// length-prefixed frames over a plain node:net socket measured in the same run.
import { heading, measureAsync, report } from '@egtp/scripts/bench'
import type { Conn, TcpEndpoint } from '@egtp/interface'
import { createServer, connect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { tcp } from '../src/index.ts'

const LOOPBACK: TcpEndpoint = { kind: 'tcp', host: '127.0.0.1', port: 0 }

/** Counts length-prefixed frames in a byte stream without copying (the raw baseline's receiver). */
function frameCounter (): { push: (chunk: Buffer) => void, count: () => number } {
  let frames = 0
  let header = 0 // header bytes seen of the current frame
  let length = 0
  let remaining = 0 // body bytes still to skip
  return {
    push (chunk) {
      let i = 0
      while (i < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - i)
          remaining -= n
          i += n
          if (remaining === 0) frames++
          continue
        }
        length = (length * 256 + chunk[i]!) >>> 0
        header++
        i++
        if (header === 4) {
          header = 0
          remaining = length
          length = 0
          if (remaining === 0) frames++
        }
      }
    },
    count: () => frames
  }
}

const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise(resolve => setImmediate(resolve))
}

async function rawPair (): Promise<{ client: Socket, server: Server, received: () => number }> {
  const counter = frameCounter()
  const server = createServer({ noDelay: true }, socket => { socket.on('data', counter.push) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('not bound')
  const client = connect({ host: '127.0.0.1', port: address.port, noDelay: true })
  await new Promise(resolve => client.once('connect', resolve))
  return { client, server, received: counter.count }
}

const rawFrame = (size: number): Buffer => {
  const b = Buffer.alloc(4 + size, 7)
  b.writeUInt32BE(size)
  return b
}

/** Raw baseline: `perWrite` prebuilt frames per socket.write, honouring the socket's backpressure. */
async function measureRaw (name: string, size: number, frames: number, perWrite: number): Promise<ReturnType<typeof report> extends void ? Awaited<ReturnType<typeof measureAsync>> : never> {
  const { client, server, received } = await rawPair()
  const batch = Buffer.concat(Array.from({ length: perWrite }, () => rawFrame(size)))
  let sent = 0
  const result = await measureAsync(name, async () => {
    for (let i = 0; i < frames; i += perWrite) {
      if (!client.write(batch)) await new Promise(resolve => client.once('drain', resolve))
    }
    sent += frames
    await until(() => received() >= sent)
    return frames
  }, { bytesPerOp: size })
  client.destroy()
  server.close()
  return result
}

/** The framed Conn from tcp(): `await conn.send(frame)` per frame, counted by 'message' events. */
async function measureConn (name: string, size: number, frames: number): Promise<Awaited<ReturnType<typeof measureAsync>>> {
  const strat = tcp()()
  const listener = await strat.listen(LOOPBACK)
  let received = 0
  listener.addEventListener('connection', ({ detail }: CustomEvent<Conn>) => {
    detail.addEventListener('message', () => { received++ })
  })
  const conn = await strat.dial(listener.address())
  const frame = new Uint8Array(size).fill(7)
  let sent = 0
  const result = await measureAsync(name, async () => {
    for (let i = 0; i < frames; i++) await conn.send(frame)
    sent += frames
    await until(() => received >= sent)
    return frames
  }, { bytesPerOp: size })
  await strat.stop()
  return result
}

/** The Commstrat path a node uses: `send(peer, endpoint, frame)` in, `frame` events out. */
async function measureCommstrat (name: string, size: number, frames: number): Promise<Awaited<ReturnType<typeof measureAsync>>> {
  const b = tcp({ listen: [LOOPBACK] })()
  const a = tcp()()
  await Promise.all([a.start(), b.start()])
  const endpoint = b.localEndpoints()[0]!
  let received = 0
  b.addEventListener('frame', () => { received++ })
  const frame = new Uint8Array(size).fill(7)
  let sent = 0
  const result = await measureAsync(name, async () => {
    for (let i = 0; i < frames; i++) await a.send('b', endpoint, frame)
    sent += frames
    await until(() => received >= sent)
    return frames
  }, { bytesPerOp: size })
  await Promise.all([a.stop(), b.stop()])
  return result
}

heading('one-way 64 B frames over one loopback connection (same process)')
const raw1 = await measureRaw('raw node:net, one write per frame', 64, 20_000, 1)
report(raw1)
const raw256 = await measureRaw('raw node:net, 256 frames per write', 64, 200_000, 256)
report(raw256)
const conn64 = await measureConn('tcp Conn.send (batched per tick)', 64, 200_000)
report(conn64, raw256)
report(conn64, raw1)
const strat64 = await measureCommstrat('tcp Commstrat.send -> frame event', 64, 200_000)
report(strat64, raw256)

heading('one-way 64 KiB frames over one loopback connection (same process)')
const rawBig = await measureRaw('raw node:net, one write per frame', 64 * 1024, 2_000, 1)
report(rawBig)
const connBig = await measureConn('tcp Conn.send', 64 * 1024, 2_000)
report(connBig, rawBig)
const stratBig = await measureCommstrat('tcp Commstrat.send -> frame event', 64 * 1024, 2_000)
report(stratBig, rawBig)

heading('where the small-frame time goes: decoding 64 B frames from 64 KiB reads (no sockets)')
{
  const { FrameDecoder, encodeFrames } = await import('@egtp/codec')
  const { measure } = await import('@egtp/scripts/bench')
  const wire = Buffer.from(encodeFrames(Array.from({ length: 963 }, () => new Uint8Array(64)))) // ~64 KiB
  const counter = measure('minimal counting parser (no per-frame objects)', () => { frameCounter().push(wire) }, { bytesPerOp: wire.length })
  report({ ...counter, name: `${counter.name}, frames/s`, opsPerSec: counter.opsPerSec * 963 })
  const decoder = new FrameDecoder()
  const view = new Uint8Array(wire.buffer, wire.byteOffset, wire.byteLength)
  const codec = measure('codec FrameDecoder.push', () => decoder.push(view), { bytesPerOp: wire.length })
  report({ ...codec, name: `${codec.name}, frames/s`, opsPerSec: codec.opsPerSec * 963 }, { ...counter, opsPerSec: counter.opsPerSec * 963 })
}
