// The critical-path preload on a real loopback ping-pong in a child process: it reports the busy socket on both
// ends (one timing per read that a write answers), the server's read through \`push\`, the client's through
// Node's \`onread\` buffer callback (as @egtp/tcp reads), and ignores the quiet one. No figure is judged.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'

const run = promisify(execFile)
const preload = fileURLToPath(new URL('../dist/critical-path.js', import.meta.url))

// 1 500 round trips of 8 bytes over 127.0.0.1 (above the preload's 1 000-pair floor), then a connection that
// sees one exchange only.
const pingPong = `
import net from 'node:net'
const server = net.createServer(s => { s.on('data', d => s.write(d)) })
await new Promise(r => server.listen(0, '127.0.0.1', r))
const { port } = server.address()
let answered
const c = net.connect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: Buffer.alloc(64), callback: () => { answered() } } })
await new Promise(r => c.once('connect', r))
for (let i = 0; i < 1500; i++) await new Promise(r => { answered = r; c.write(Buffer.alloc(8, i)) })
const quiet = net.connect({ port, host: '127.0.0.1' })
await new Promise(r => quiet.once('connect', r))
await new Promise(r => { quiet.once('data', r); quiet.write('x') })
c.destroy(); quiet.destroy(); server.close()
`

describe('critical-path.js (a diagnostic preload)', () => {
  test('reports read → write timings for each busy TCP socket of the process at exit, and only those', async () => {
    const { stderr } = await run(process.execPath, ['--import', preload, '--input-type=module', '-e', pingPong])
    const lines = stderr.split('\n').filter(l => l.startsWith('critical path ['))
    expect(lines).toHaveLength(2) // the server's socket answers 1 500 reads; the client's writes follow 1 499 reads
    for (const line of lines) {
      expect(line).toMatch(/pid \d+: 1[45]\d\d read→write pairs, the later half: read→write median [\d.]+ µs \(mean [\d.]+, p90 [\d.]+, p99 [\d.]+\), write call median [\d.]+ µs \(mean [\d.]+, p90 [\d.]+, p99 [\d.]+\)/)
    }
  })
})
