import { spawn } from 'node:child_process'
import net from 'node:net'
import NoiseSecretStream from '@hyperswarm/secret-stream'
const cpuLine = () => { const c = process.cpuUsage(); return `${c.user} ${c.system}` }
if (process.argv[2] === '--server') {
  const kp = NoiseSecretStream.keyPair()
  const srv = net.createServer({ noDelay: true }, s => { const st = new NoiseSecretStream(false, s, { keyPair: kp }); st.on('error', () => {}); st.on('data', m => st.write(m)) })
  srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\n'))
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', d => { if (d.startsWith('cpu')) process.stdout.write(cpuLine() + '\n'); else process.exit(0) })
} else {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--server'], { stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdout.setEncoding('utf8')
  const lines = []; const waiters = []; let buf = ''
  child.stdout.on('data', d => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); waiters.shift()?.() } })
  const line = async () => { while (lines.length === 0) await new Promise(r => waiters.push(r)); return lines.shift() }
  const port = Number(await line())
  const st = new NoiseSecretStream(true, net.connect({ port, host: '127.0.0.1', noDelay: true }))
  await st.opened
  let resolve
  st.on('data', () => resolve())
  const body = Buffer.alloc(64)
  const q = () => new Promise(r => { resolve = r; st.write(body) })
  const N = Number(process.argv[2] ?? 20000)
  for (let i = 0; i < N; i++) await q()
  for (let round = 0; round < 3; round++) {
    child.stdin.write('cpu\n'); const [su0, ss0] = (await line()).split(' ').map(Number)
    const c0 = process.cpuUsage(); const t0 = performance.now()
    for (let i = 0; i < N; i++) await q()
    const c = process.cpuUsage(c0); const wall = (performance.now() - t0) * 1000 / N
    child.stdin.write('cpu\n'); const [su1, ss1] = (await line()).split(' ').map(Number)
    console.log(`hs wall ${wall.toFixed(1)} µs/rt; client user ${(c.user / N).toFixed(1)} sys ${(c.system / N).toFixed(1)}; server user ${((su1 - su0) / N).toFixed(1)} sys ${((ss1 - ss0) / N).toFixed(1)}`)
  }
  child.stdin.write('stop\n'); process.exit(0)
}
