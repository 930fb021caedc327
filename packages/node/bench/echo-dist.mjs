// In-process echo on the built dist (no tsx): both nodes in this process, 64 B queries one at a time; prints
// round trips/s and CPU per round trip (both nodes). Build first (pnpm turbo run build --filter=@egtp/node...).
// Usage: node bench/echo-dist.mjs [round trips]   (EGTP_NO_SODIUM=1: AEAD through node:crypto only)
import { createNode, memoryDirectory } from '@egtp/node'
import { tcp } from '@egtp/tcp'
const dir = memoryDirectory()
const L = [{ kind: 'tcp', host: '127.0.0.1', port: 0 }]
const a = await createNode({ commstrats: [tcp({ listen: L })()], lookup: dir, announcer: dir })
const b = await createNode({ commstrats: [tcp({ listen: L })()], lookup: dir, announcer: dir })
await a.start(); await b.start()
b.handle('echo', p => p)
const body = new Uint8Array(64)
for (let i = 0; i < 2000; i++) await a.query(b.nodeId, 'echo', body)
const N = Number(process.argv[2] ?? 20000)
const c0 = process.cpuUsage(); const t0 = performance.now()
for (let i = 0; i < N; i++) await a.query(b.nodeId, 'echo', body)
const c = process.cpuUsage(c0); const secs = (performance.now() - t0) / 1000
console.log(`in-process echo: ${(N / secs).toFixed(0)} rt/s, cpu ${((c.user + c.system) / N).toFixed(1)} µs/rt (sys ${(c.system / N).toFixed(1)})`)
await a.stop(); await b.stop()
