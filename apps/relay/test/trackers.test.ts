// egtp-relay --tracker: the relay publishes its own signed record (service `relay`, its --announce or
// --listen address) to real egtp-metatracker processes, re-signs it, and withdraws it on SIGTERM.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { decodeContactRecord } from '@egtp/identity'
import { trackers } from '@egtp/metatracker/client'
import { createNode } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const TRACKER_MAIN = fileURLToPath(new URL('../../metatracker/dist/main.js', import.meta.url))

type Cleanup = (fn: () => void | Promise<void>) => void
interface Ready { nodeId: string, host: string, port: number, record: string | null, trackers: string[] }

async function startProcess (main: string, args: string[], cleanup: Cleanup): Promise<{ child: ChildProcess, ready: Ready, line: string }> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '' } })
  cleanup(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let err = ''
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  return await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => { resolve({ child, ready: JSON.parse(line) as Ready, line }) })
    child.once('exit', (code) => { reject(new Error(`exited ${String(code)} before ready: ${err}`)) })
  })
}

async function run (args: string[]): Promise<{ code: number | null, err: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBUG: '' } })
  let err = ''
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, err }
}

describe('egtp-relay --tracker', () => {
  test('publishes its signed relay record to the trackers and withdraws it on SIGTERM', { timeout: 30_000 }, async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-app-relay-trackers-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const t1 = await startProcess(TRACKER_MAIN, ['--listen', '127.0.0.1:0'], onTestFinished)
    const t2 = await startProcess(TRACKER_MAIN, ['--listen', '127.0.0.1:0'], onTestFinished)
    // One tracker as a file holding its ready line, the other as its base64 record.
    await writeFile(join(dir, 't1.json'), `${t1.line}\n`)
    const relay = await startProcess(MAIN, ['--listen', '127.0.0.1:0', '--announce', '127.0.0.1:4999', '--tracker', join(dir, 't1.json'), '--tracker', t2.ready.record!], onTestFinished)
    expect(relay.ready.trackers.sort()).toEqual([t1.ready.nodeId, t2.ready.nodeId].sort())
    const own = decodeContactRecord(Buffer.from(relay.ready.record!, 'base64'))
    expect(own).toMatchObject({ nodeId: relay.ready.nodeId, services: ['relay'], endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 4999 }] })

    const probe = await createNode({ commstrats: [tcp()()], limits: { stopTimeoutMs: 200 } })
    const mt = trackers({ trackers: [t1, t2].map(t => decodeContactRecord(Buffer.from(t.ready.record!, 'base64'))), fanout: 1 })
    mt.attach(probe)
    await probe.start()
    onTestFinished(async () => { await mt.stop(); await probe.stop() })
    // Each tracker holds it (fanout 1: one tracker per request, until both were asked).
    const seen = new Set<string>()
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const found = await mt.discover('relay')
      expect(found.map(r => r.nodeId)).toEqual([relay.ready.nodeId])
      for (const [id, s] of Object.entries(mt.stats())) if (s.requests > 0) seen.add(id)
    }
    expect(seen.size).toBe(2)

    relay.child.kill('SIGTERM')
    const [code] = await once(relay.child, 'exit') as [number]
    expect(code).toBe(0)
    for (let i = 0; i < 4; i++) expect(await mt.discover('relay')).toEqual([])
  })

  test('tracker and bootpage mistakes are one line and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--tracker', 'bm90IGEgcmVjb3Jk'], /--tracker/],
      [['--tracker', '{"event":"ready"}'], /--tracker/],
      [['--bootpage', 'http://127.0.0.1:9/p.json'], /--bootpage needs --bootpage-key/],
      [['--bootpage-key', 'abc'], /--bootpage-key needs --bootpage/],
      [['--bootpage', 'ftp://127.0.0.1/p.json', '--bootpage-key', 'a'.repeat(64)], /http: or https:/],
      [['--record-ttl-ms', '0'], /--record-ttl-ms must be a positive integer/],
      [['--listen', '0.0.0.0:0', '--tracker', 'bm90IGEgcmVjb3Jk'], /--tracker/],
      [['--listen', '0.0.0.0:0', '--bootpage', 'http://127.0.0.1:9/p.json', '--bootpage-key', 'a'.repeat(64)], /give --announce/]
    ]
    for (const [args, message] of cases) {
      const r = await run(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err.split('\n')[0], args.join(' ')).toMatch(message)
    }
  })
})
