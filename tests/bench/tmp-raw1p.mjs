import net from 'node:net'
const srv = net.createServer({ noDelay: true }, s => { s.on('data', m => s.write(m)) })
await new Promise(r => srv.listen(0, '127.0.0.1', r))
const st = net.connect({ port: srv.address().port, host: '127.0.0.1', noDelay: true })
await new Promise(r => st.on('connect', r))
let resolve
st.on('data', () => resolve())
const body = Buffer.alloc(64)
const q = () => new Promise(r => { resolve = r; st.write(body) })
const N = Number(process.argv[2] ?? 60000)
for (let i = 0; i < 5000; i++) await q()
for (let k = 0; k < 2; k++) {
const c0 = process.cpuUsage(); const t0 = performance.now()
for (let i = 0; i < N; i++) await q()
const c = process.cpuUsage(c0)
console.log(`raw cpu user ${(c.user / N).toFixed(2)} sys ${(c.system / N).toFixed(2)} µs/rt wall ${((performance.now() - t0) * 1000 / N).toFixed(1)}`)
}
process.exit(0)
