import net from 'node:net'
import { PerformanceObserver } from 'node:perf_hooks'
import NoiseSecretStream from '@hyperswarm/secret-stream'
const kp = NoiseSecretStream.keyPair()
const srv = net.createServer({ noDelay: true }, s => { const st = new NoiseSecretStream(false, s, { keyPair: kp }); st.on('error', () => {}); st.on('data', m => st.write(m)) })
await new Promise(r => srv.listen(0, '127.0.0.1', r))
const st = new NoiseSecretStream(true, net.connect({ port: srv.address().port, host: '127.0.0.1', noDelay: true }))
await st.opened
let resolve
st.on('data', () => resolve())
const body = Buffer.alloc(64)
const q = () => new Promise(r => { resolve = r; st.write(body) })
for (let i = 0; i < 20000; i++) await q()
let sc = 0
new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.detail.kind === 1) sc++ }).observe({ entryTypes: ['gc'] })
const N = 100000
for (let i = 0; i < N; i++) await q()
await new Promise(r => setTimeout(r, 50))
console.log('hs scavenges', sc, '→ ~', (sc * 1024 / N).toFixed(2), 'KiB per rt')
process.exit(0)
