#!/usr/bin/env node
// A TCP probe the soak runs inside namespaces to prove the NAT before trusting it:
// `probe listen HOST PORT` accepts and answers with the peer's address; `probe connect HOST PORT MS` prints
// {"connected":true,"seenAs":…} or {"connected":false,"why":…} and exits.
import { connect, createServer } from 'node:net'

const [mode, host, port, ms] = process.argv.slice(2)
if (mode === 'listen') {
  createServer((s) => { s.end(`${s.remoteAddress ?? ''}\n`) }).listen(Number(port), host, () => {
    process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`)
  })
} else {
  const s = connect({ host: host!, port: Number(port), timeout: Number(ms ?? '1000') })
  let seenAs = ''
  s.on('data', (d) => { seenAs += d.toString() })
  s.on('end', () => { process.stdout.write(`${JSON.stringify({ event: 'ready', connected: true, seenAs: seenAs.trim() })}\n`); process.exit(0) })
  s.on('error', (err: NodeJS.ErrnoException) => { process.stdout.write(`${JSON.stringify({ event: 'ready', connected: false, why: err.code })}\n`); process.exit(0) })
  s.on('timeout', () => { process.stdout.write(`${JSON.stringify({ event: 'ready', connected: false, why: 'timeout' })}\n`); process.exit(0) })
}
