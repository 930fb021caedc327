import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createContactRecord, decodeContactRecord, encodeContactRecord, generateIdentity } from '@egtp/identity'
import type { ContactRecord } from '@egtp/interface'
import { answerCodec, requestCodec, TRACKER_QUERY_TYPE } from '@egtp/metatracker'
import type { TrackerAnswer, TrackerRequest } from '@egtp/metatracker'
import { createNode } from '@egtp/node'
import type { EgtpNode } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { redisAvailable, startRedis } from '@egtp/scripts/redis'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
type Finish = (fn: () => void | Promise<void>) => void

interface Ready { event: 'ready', nodeId: string, host: string, port: number, record: string, store: string, metricsPort: number | null }

/** Start the built app; resolves with its ready line. Killed after the test. */
async function startTracker (args: string[], onTestFinished: Finish): Promise<{ child: ChildProcess, ready: Ready, record: ContactRecord }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '' } })
  onTestFinished(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let out = ''
  let err = ''
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString() })
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n').find(l => l.startsWith('{'))
      if (line !== undefined) resolve(JSON.parse(line) as Ready)
    })
    child.once('exit', (code) => { reject(new Error(`metatracker exited with ${String(code)} before it was ready: ${err}`)) })
  })
  return { child, ready, record: decodeContactRecord(Buffer.from(ready.record, 'base64')) }
}

async function clientNode (onTestFinished: Finish, trackers: ContactRecord[]): Promise<EgtpNode> {
  const node = await createNode({ commstrats: [tcp()()], limits: { stopTimeoutMs: 100 } })
  for (const t of trackers) node.addContact(t)
  await node.start()
  onTestFinished(() => node.stop())
  return node
}

async function ask (node: EgtpNode, trackerId: string, request: TrackerRequest): Promise<TrackerAnswer> {
  return answerCodec.decode(await node.query(trackerId, TRACKER_QUERY_TYPE, requestCodec.encode(request), { timeoutMs: 5000 }) as Uint8Array)
}

function someRecord (): { id: Uint8Array, bytes: Uint8Array } {
  const identity = generateIdentity()
  const r = createContactRecord(identity, { seq: 1, expiresAt: Date.now() + 600_000, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 9 }], services: ['relay'] })
  return { id: identity.nodeIdBytes, bytes: encodeContactRecord(r) }
}

async function get (port: number, path: string): Promise<{ status: number, type: string | null, text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

async function tempDir (onTestFinished: Finish): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-app-mt-'))
  onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

describe('egtp-metatracker (the app, as a process)', () => {
  test('serves records, Prometheus metrics and JSON health; keeps identity and records across a restart; SIGTERM exits 0', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const stateDir = join(dir, 'new', 'state') // created by the app
    const first = await startTracker(['--state-dir', stateDir, '--metrics', '127.0.0.1:0', '--lookups-per-second', '1'], onTestFinished)
    expect((await stat(join(stateDir, 'identity.json'))).mode & 0o777).toBe(0o600)
    const node = await clientNode(onTestFinished, [first.record])
    const r = someRecord()
    expect(await ask(node, first.ready.nodeId, { t: 'mp', r: r.bytes })).toMatchObject({ t: 'mpa', h: expect.any(Number) })
    const lookups = await Promise.all(Array.from({ length: 10 }, async () => await ask(node, first.ready.nodeId, { t: 'ml', ids: [r.id] })))
    const refused = lookups.filter(a => a.t === 'mla' && a.c === 'ERR_RATE_LIMITED').length
    expect(refused).toBeGreaterThan(0)
    expect(lookups.filter(a => a.t === 'mla' && a.c === undefined && a.r.length === 1)).toHaveLength(10 - refused)

    const metrics = await get(first.ready.metricsPort!, '/metrics')
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(metrics.text).toContain('egtp_metatracker_records 2\n') // the record and the tracker's own
    expect(metrics.text).toContain('egtp_metatracker_requests_total{type="publish",outcome="ok"} 1\n')
    expect(metrics.text).toContain(`egtp_metatracker_refused_total{code="ERR_RATE_LIMITED"} ${refused}\n`)
    const health = await get(first.ready.metricsPort!, '/health')
    expect(health.status).toBe(200)
    expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', nodeId: first.ready.nodeId, store: 'memory', durable: true, records: 2 })
    expect((await get(first.ready.metricsPort!, '/other')).status).toBe(404)

    first.child.kill('SIGTERM')
    expect((await once(first.child, 'exit') as [number | null])[0]).toBe(0)
    const second = await startTracker(['--state-dir', stateDir], onTestFinished)
    expect(second.ready.nodeId).toBe(first.ready.nodeId)
    node.addContact(second.record)
    expect(await ask(node, second.ready.nodeId, { t: 'ml', ids: [r.id] })).toEqual({ t: 'mla', r: [r.bytes] })
  })

  test('invalid configuration exits 2', async () => {
    for (const args of [['--listen', 'nope'], ['--max-records', '0'], ['--redis', 'http://x'], ['--max-record-bytes', '999999'], ['--bogus']]) {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: 'ignore' })
      expect((await once(child, 'exit') as [number | null])[0]).toBe(2)
    }
  })

  test.skipIf(!redisAvailable())('two tracker processes on one redis-server serve each other\'s records and survive one being killed', async ({ onTestFinished }) => {
    const redis = await startRedis()
    onTestFinished(() => redis.stop())
    const one = await startTracker(['--redis', redis.url, '--metrics', '127.0.0.1:0'], onTestFinished)
    const two = await startTracker(['--redis', redis.url], onTestFinished)
    expect(one.ready.store).toBe('redis')
    const node = await clientNode(onTestFinished, [one.record, two.record])
    const r = someRecord()
    expect(await ask(node, one.ready.nodeId, { t: 'mp', r: r.bytes })).toMatchObject({ t: 'mpa', h: expect.any(Number) })
    expect(await ask(node, two.ready.nodeId, { t: 'ml', ids: [r.id] })).toEqual({ t: 'mla', r: [r.bytes] })
    // Both trackers find each other through the shared store.
    const trackers = await ask(node, two.ready.nodeId, { t: 'md', s: 'metatracker', n: 10 })
    expect(trackers.t === 'mda' && trackers.r.map(b => decodeContactRecord(b).nodeId).sort()).toEqual([one.ready.nodeId, two.ready.nodeId].sort())

    one.child.kill('SIGKILL')
    await once(one.child, 'exit')
    expect(await ask(node, two.ready.nodeId, { t: 'ml', ids: [r.id] })).toEqual({ t: 'mla', r: [r.bytes] })
    const later = someRecord()
    expect(await ask(node, two.ready.nodeId, { t: 'mp', r: later.bytes })).toMatchObject({ t: 'mpa', h: expect.any(Number) })
    // A tracker started after the kill serves everything the fleet holds.
    const three = await startTracker(['--redis', redis.url, '--metrics', '127.0.0.1:0'], onTestFinished)
    node.addContact(three.record)
    expect(await ask(node, three.ready.nodeId, { t: 'ml', ids: [r.id, later.id] })).toEqual({ t: 'mla', r: [r.bytes, later.bytes] })
    expect(JSON.parse((await get(three.ready.metricsPort!, '/health')).text)).toMatchObject({ status: 'ok', store: 'redis' })
    three.child.kill('SIGTERM')
    expect((await once(three.child, 'exit') as [number | null])[0]).toBe(0)
  })

  test('--tracker: a tracker publishes its own record (service metatracker) to its peer, and withdraws it on SIGTERM', { timeout: 30_000 }, async ({ onTestFinished }) => {
    const one = await startTracker(['--listen', '127.0.0.1:0'], onTestFinished)
    const two = await startTracker(['--listen', '127.0.0.1:0', '--tracker', one.ready.record], onTestFinished)
    expect((two.ready as unknown as { trackers: string[] }).trackers).toEqual([one.ready.nodeId])
    const client = await clientNode(onTestFinished, [one.record])
    const trackersAt = async (): Promise<string[]> => {
      const answer = await ask(client, one.ready.nodeId, { t: 'md', s: 'metatracker', n: 10 })
      return (answer.t === 'mda' ? answer.r : []).map(bytes => decodeContactRecord(bytes).nodeId).sort()
    }
    // The peer holds its own record and the second tracker's: a client's discoverTrackers() finds both.
    expect(await trackersAt()).toEqual([one.ready.nodeId, two.ready.nodeId].sort())
    two.child.kill('SIGTERM')
    expect((await once(two.child, 'exit') as [number | null])[0]).toBe(0)
    expect(await trackersAt()).toEqual([one.ready.nodeId])
  })

  test('--tracker and --bootpage mistakes exit 2 with one line', async () => {
    for (const [args, message] of [
      [['--tracker', 'bm90IGEgcmVjb3Jk'], /--tracker/],
      [['--bootpage', 'http://127.0.0.1:9/p.json'], /--bootpage needs --bootpage-key/],
      [['--bootpage', 'http://127.0.0.1:9/p.json', '--bootpage-key', 'nonsense'], /--bootpage-key/]
    ] as Array<[string[], RegExp]>) {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBUG: '' } })
      let err = ''
      child.stderr.on('data', (c: Buffer) => { err += c.toString() })
      const [code] = await once(child, 'exit') as [number | null]
      expect(code, args.join(' ')).toBe(2)
      expect(err.split('\n')[0], args.join(' ')).toMatch(message)
    }
  })
})
