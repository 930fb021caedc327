// Probe (issue 16): socket writes, frames, setTimeout and setImmediate calls per operation, both nodes in this
// process: a 64 B query, a 64 B one-way send, and a fresh peer's first query. Counts by wrapping the globals.
// Usage: node --import tsx --conditions=@egtp/source bench/writes-probe.ts [ops]
import { Socket } from 'node:net'
import { tcp } from '@egtp/tcp'
import { createNode, memoryDirectory } from '../src/index.ts'
let writes = 0
const orig = Socket.prototype.write
Socket.prototype.write = function (this: Socket, ...args: unknown[]) { writes++; return (orig as (...a: unknown[]) => boolean).apply(this, args) } as typeof orig
let timers = 0
const origST = globalThis.setTimeout
globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => { timers++; return origST(...a) }) as typeof setTimeout
let imm = 0
const origSI = globalThis.setImmediate
globalThis.setImmediate = ((...a: Parameters<typeof setImmediate>) => { imm++; return origSI(...a) }) as typeof setImmediate
const dir = memoryDirectory()
const L = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]
const a = await createNode({ commstrats: [tcp({ listen: L })()], lookup: dir, announcer: dir })
const b = await createNode({ commstrats: [tcp({ listen: L })()], lookup: dir, announcer: dir })
await a.start(); await b.start()
b.handle('echo', p => p)
b.handle('m', () => {})
const body = new Uint8Array(64)
for (let i = 0; i < 100; i++) await a.query(b.nodeId, 'echo', body)
const N = Number(process.argv[2] ?? 1000)
for (const [what, op] of [['query', () => a.query(b.nodeId, 'echo', body)], ['send', () => a.send(b.nodeId, 'm', body)]] as const) {
  writes = 0; timers = 0; imm = 0
  const f0 = a.stats().framesSent + b.stats().framesSent
  for (let i = 0; i < N; i++) await op()
  const f1 = a.stats().framesSent + b.stats().framesSent
  console.log(`${what}: per op: socket writes ${(writes / N).toFixed(2)}, frames ${((f1 - f0) / N).toFixed(2)}, setTimeout ${(timers / N).toFixed(2)}, setImmediate ${(imm / N).toFixed(2)}`)
}
// fresh peers
writes = 0; timers = 0; imm = 0
const M = 20
let frames = 0
for (let i = 0; i < M; i++) {
  const c = await createNode({ commstrats: [tcp()()], lookup: dir })
  await c.start()
  const w0 = writes
  const f0 = b.stats().framesSent
  await c.query(b.nodeId, 'echo', body)
  frames += c.stats().framesSent + b.stats().framesSent - f0
  if (i === 0) console.log('fresh: writes until reply', writes - w0)
  await new Promise(resolve => origST(resolve, 20))
  await c.stop()
}
console.log(`fresh (incl. 20 ms after): per op: socket writes ${(writes / M).toFixed(2)}, frames ${(frames / M).toFixed(2)}, setTimeout ${(timers / M).toFixed(2)}`)

// bulk: 64 KiB one-way with 128 in flight: frames the receiver sends back (acknowledgements) per message
{
  const a2 = await createNode({ commstrats: [tcp({ listen: L })()], lookup: dir, announcer: dir })
  await a2.start()
  const big = new Uint8Array(64 * 1024)
  await a2.send(b.nodeId, 'm', big)
  const n = 2000
  const back0 = b.stats().framesSent
  const out0 = a2.stats().framesSent
  let started = 0
  let inflight = 0
  await new Promise<void>(resolve => {
    const next = (): void => {
      while (inflight < 128 && started < n) {
        started++
        inflight++
        void a2.send(b.nodeId, 'm', big).then(() => { inflight--; if (started === n && inflight === 0) resolve(); else next() })
      }
    }
    next()
  })
  console.log(`bulk 64 KiB: frames per message: out ${((a2.stats().framesSent - out0) / n).toFixed(2)}, back (acks) ${((b.stats().framesSent - back0) / n).toFixed(2)}`)
  await a2.stop()
}
await a.stop(); await b.stop()
