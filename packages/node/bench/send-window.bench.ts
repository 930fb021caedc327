// pnpm --filter @egtp/node bench:window — one-way 64 B messages, acknowledged end to end, to a receiver in its
// own process (bench/fixtures/sink.ts) over TCP on 127.0.0.1: the simplest flow-controlled loops (writable/ready,
// and sendStream) beside the old way, a guessed window of outstanding sends (256, 4096). Prints msgs/s, the
// median of interleaved rounds, and the most messages outstanding; asserts nothing about time.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { decodeContactRecord } from '@egtp/identity'
import { pump } from '@egtp/scripts/bench'
import { tcp } from '@egtp/tcp'
import { createNode } from '../src/index.ts'
import type { EgtpNode } from '../src/index.ts'

const N = Number(process.env.EGTP_BENCH_MESSAGES ?? 50_000)
const ROUNDS = Number(process.env.EGTP_BENCH_ROUNDS ?? 3)
const body = new Uint8Array(64).fill(7)

const child = fork(new URL('./fixtures/sink.ts', import.meta.url), ['egtp'], { execArgv: ['--import', 'tsx', '--conditions=@egtp/source'], stdio: 'inherit' })
process.once('exit', () => { child.kill() })
const [ready] = await once(child, 'message') as [{ record: string }]
const record = decodeContactRecord(new Uint8Array(Buffer.from(ready.record, 'base64')))
let expected = 0
async function delivered (n: number): Promise<void> {
  expected += n
  child.send({ op: 'expect', count: expected })
  await once(child, 'message')
}

const a: EgtpNode = await createNode({ commstrats: [tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()] })
await a.start()
a.addContact(record)
const peer = record.nodeId
const warm = await a.connect(peer)
console.log(`connect: handshake ${warm.handshake}, rtt ${warm.rttMs?.toFixed(2)} ms, ${warm.elapsedMs.toFixed(2)} ms in all, via ${warm.description}`)

let maxOutstanding = 0
// stats() builds snapshots: sampled where the window is fullest, not per message.
const sample = (): void => { maxOutstanding = Math.max(maxOutstanding, a.stats().unacked.messages) }
const fail = (err: unknown): void => { throw err }

const cases: Record<string, () => Promise<void>> = {
  'guessed window 256 (pump, await each send)': async () => {
    await pump(N, 256, () => a.send(peer, 'm', body))
    maxOutstanding = 256
  },
  'guessed window 4096 (pump, await each send)': async () => {
    await pump(N, 4096, () => a.send(peer, 'm', body))
    maxOutstanding = 4096
  },
  'simple loop: if (!writable) await ready; send': async () => {
    for (let i = 0; i < N; i++) {
      if (!a.writable(peer)) {
        sample() // the window is at its fullest here
        await a.ready(peer)
      }
      a.send(peer, 'm', body).catch(fail)
    }
    while (a.stats().unacked.messages > 0) await new Promise(resolve => setTimeout(resolve, 1))
  },
  'sendStream: await writer.write; close': async () => {
    const writer = a.sendStream(peer, 'm').getWriter()
    for (let i = 0; i < N; i++) {
      await writer.write(body)
      if (i % 512 === 0) sample()
    }
    await writer.close()
  }
}

const figures = new Map<string, number[]>()
const peaks = new Map<string, number>()
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    maxOutstanding = 0
    const start = performance.now()
    await run()
    await delivered(N)
    const rate = N / ((performance.now() - start) / 1000)
    figures.set(name, [...(figures.get(name) ?? []), rate])
    peaks.set(name, Math.max(peaks.get(name) ?? 0, maxOutstanding))
  }
}
console.log(`\none-way 64 B, ${N} messages per run, receiver in its own process, median of ${ROUNDS} interleaved rounds:`)
for (const [name, rates] of figures) {
  const sorted = [...rates].sort((x, y) => x - y)
  const median = sorted[Math.floor(sorted.length / 2)]!
  console.log(`  ${name.padEnd(48)} ${Math.round(median).toLocaleString('en-US').padStart(9)} msgs/s   (rounds: ${rates.map(r => Math.round(r / 1000)).join(', ')}k; most outstanding seen ${peaks.get(name)})`)
}
await a.stop()
child.send({ op: 'stop' })
await once(child, 'exit')
