import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@egtp/identity'
import type { RelayEndpoint } from '@egtp/interface'
import { relayClient } from '@egtp/relay/client'
import { RELAY_NODE_FLAGS } from '@egtp/relay/server'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

interface Ready { event: 'ready', nodeId: string, host: string, port: number, metricsPort: number | null }

/** Start the built relay app; resolves with its ready line. Killed after the test. */
async function startRelay (args: string[], onTestFinished: (fn: () => void) => void): Promise<{ child: ChildProcess, ready: Ready }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '' } })
  onTestFinished(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let out = ''
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n').find(l => l.startsWith('{'))
      if (line !== undefined) resolve(JSON.parse(line) as Ready)
    })
    child.once('exit', (code) => { reject(new Error(`relay exited with ${String(code)} before it was ready`)) })
  })
  return { child, ready }
}

async function scrape (port: number, path = '/metrics'): Promise<{ status: number, type: string | null, text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

const metric = (text: string, name: string): number => {
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  if (line === undefined) throw new Error(`no ${name} in:\n${text}`)
  return Number(line.split(' ')[1])
}

describe('egtp-relay (the app, as a process)', () => {
  test('serves Prometheus metrics that follow the relay, and stops cleanly on SIGTERM', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-app-relay-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const { child, ready } = await startRelay(['--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--data-dir', join(dir, 'queue')], onTestFinished)
    expect(ready.host).toBe('127.0.0.1')
    expect(ready.metricsPort).toBeGreaterThan(0)

    const first = await scrape(ready.metricsPort!)
    expect(first.status).toBe(200)
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(first.text).toMatch(/# TYPE egtp_relay_accepted_total counter/)
    expect(metric(first.text, 'egtp_relay_persistent')).toBe(1)
    expect(metric(first.text, 'egtp_relay_connections')).toBe(0)

    // An unauthenticated TCP connection shows up in the gauge while it is open.
    const socket = connect(ready.port, '127.0.0.1')
    onTestFinished(() => { socket.destroy() })
    await once(socket, 'connect')
    let open = 0
    for (let i = 0; i < 50 && open === 0; i++) {
      open = metric((await scrape(ready.metricsPort!)).text, 'egtp_relay_connections')
      if (open === 0) await new Promise(resolve => setTimeout(resolve, 20))
    }
    expect(open).toBe(1)
    expect((await scrape(ready.metricsPort!, '/other')).status).toBe(404)

    child.kill('SIGTERM')
    const [code] = await once(child, 'exit') as [number | null]
    expect(code).toBe(0)
  })

  test('keeps its identity in a 0600 key file across restarts', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-app-relay-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const keyFile = join(dir, 'relay.key')
    const first = await startRelay(['--key-file', keyFile], onTestFinished)
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    first.child.kill('SIGTERM')
    await once(first.child, 'exit')
    const second = await startRelay(['--key-file', keyFile], onTestFinished)
    expect(second.ready.nodeId).toBe(first.ready.nodeId)
  })

  test('invalid configuration exits with status 2 and one line, no stack trace', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-app-relay-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const loose = join(dir, 'loose.key')
    await startRelay(['--key-file', loose], onTestFinished).then(({ child }) => { child.kill('SIGKILL') })
    await chmod(loose, 0o640)
    const cases: Array<[string[], RegExp]> = [
      [['--listen', 'nowhere'], /--listen must be host:port/],
      [['--max-queued-per-client', '-3'], /--max-queued-per-client must be a positive integer, got "-3"/],
      [['--max-clients', 'many'], /--max-clients must be a positive integer/],
      [['--no-such-option'], /Unknown option '--no-such-option'/],
      [['--key-file', dir], /ERR_KEYSTORE: .*not a regular file/],
      [['--key-file', loose], /ERR_KEYSTORE_PERMISSIONS/],
      [['--state-dir', join(loose, 'sub')], /--state-dir .*ENOTDIR/]
    ]
    for (const [args, message] of cases) {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      let err = ''
      child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
      const [code] = await once(child, 'exit') as [number | null]
      expect(code, args.join(' ')).toBe(2)
      expect(err.split('\n')[0], args.join(' ')).toMatch(message)
      expect(err, args.join(' ')).not.toMatch(/\n {4}at /)
    }
  })

  test('-h prints a usage that describes every flag it lists', async () => {
    const child = spawn(process.execPath, [MAIN, '-h'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
    const [code] = await once(child, 'exit') as [number | null]
    expect(code).toBe(0)
    const listed = new Set(out.match(/--[a-z][a-z-]+/g))
    expect(listed.size).toBeGreaterThan(10)
    for (const flag of listed) expect(out, flag).toMatch(new RegExp(`^ +(-h, )?${flag}\\b.*\\S`, 'm'))
  })

  test('/health answers JSON; a graceful stop with --state-dir loses no queued message', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-app-relay-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const first = await startRelay(['--state-dir', dir, '--metrics', '127.0.0.1:0'], onTestFinished)
    const health = await scrape(first.ready.metricsPort!, '/health')
    expect(health.status).toBe(200)
    expect(health.type).toMatch(/^application\/json/)
    expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', nodeId: first.ready.nodeId, persistent: true, queuedMessages: 0 })
    expect((await stat(join(dir, 'relay.key'))).mode & 0o777).toBe(0o600)

    // B registers, leaves; A hands the relay a message for B.
    const endpoint: RelayEndpoint = { kind: 'relay', relay: first.ready.nodeId, host: '127.0.0.1', port: first.ready.port }
    const bId = generateIdentity()
    const client = (init: Parameters<typeof relayClient>[0], identity = generateIdentity()): ReturnType<ReturnType<typeof relayClient>> => {
      const c = relayClient(init)({ transport: tcp()(), identity })
      onTestFinished(() => c.stop())
      return c
    }
    const b1 = client({ relays: [endpoint] }, bId)
    const registered = new Promise(resolve => { b1.addEventListener('relay:ready', resolve, { once: true }) })
    await b1.start()
    await registered
    await b1.stop()
    const a = client({ register: false })
    await a.start()
    await a.send(bId.nodeId, endpoint, Uint8Array.of(7, 7, 7))
    await a.stop()
    expect(JSON.parse((await scrape(first.ready.metricsPort!, '/health')).text).queuedMessages).toBe(1)

    first.child.kill('SIGTERM')
    expect((await once(first.child, 'exit'))[0]).toBe(0)
    const second = await startRelay(['--state-dir', dir, '--listen', `127.0.0.1:${first.ready.port}`], onTestFinished)
    expect(second.ready.nodeId).toBe(first.ready.nodeId)
    const b2 = client({ relays: [endpoint] }, bId)
    const got = new Promise<Uint8Array>(resolve => { b2.addEventListener('frame', ({ detail }) => { resolve(detail.frame) }, { once: true }) })
    await b2.start()
    expect([...await got]).toEqual([7, 7, 7])
  })
})

describe('node flags', () => {
  test('the bin and `pnpm start` run Node with the relay library\'s RELAY_NODE_FLAGS', async () => {
    const shebang = (await readFile(MAIN, 'utf8')).split('\n')[0]!
    // The installed command is the committed launcher (bin/egtp-relay.js), which imports dist/main.js.
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string }, bin: Record<string, string> }
    const launcher = (await readFile(new URL(`../${pkg.bin['egtp-relay']!}`, import.meta.url), 'utf8')).split('\n')[0]!
    expect(RELAY_NODE_FLAGS.length).toBeGreaterThan(0)
    for (const flag of RELAY_NODE_FLAGS) {
      expect(shebang.split(' ')).toContain(flag)
      expect(launcher.split(' ')).toContain(flag)
      expect(pkg.scripts.start.split(' ')).toContain(flag)
    }
  })
})
