// --tracker, --bootpage, --relay auto as real processes: egtp-metatracker trackers, a bootpage served over
// node:http on 127.0.0.1, egtp-relay publishing its record, and egtp-node nodes that know only the page.
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBootpage } from '@egtp/bootpage'
import { decodeContactRecord, generateIdentity } from '@egtp/identity'
import { trackers } from '@egtp/metatracker/client'
import { createNode } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { NODE_MAIN, RELAY_MAIN, exec, start, tempDir, until } from './helpers.ts'
import type { Cleanup, Running } from './helpers.ts'

const TRACKER_MAIN = fileURLToPath(new URL('../../metatracker/dist/main.js', import.meta.url))

/** Trackers as processes, and a bootpage listing them, signed by a fresh key, served on 127.0.0.1. */
async function trackersAndPage (cleanup: Cleanup, count: number): Promise<{ trackers: Running[], url: string, key: string }> {
  const started = await Promise.all(Array.from({ length: count }, async () => await start(TRACKER_MAIN, ['--listen', '127.0.0.1:0'], cleanup)))
  const signer = generateIdentity()
  const page = createBootpage(signer, { records: started.map(t => decodeContactRecord(Buffer.from(t.ready.record, 'base64'))), expiresAt: Date.now() + 3_600_000 })
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(page) })
  await new Promise<void>((resolve, reject) => { server.once('error', reject).listen(0, '127.0.0.1', resolve) })
  cleanup(async () => { server.closeAllConnections(); await new Promise<void>(resolve => { server.close(() => { resolve() }) }) })
  return { trackers: started, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bootpage.json`, key: signer.nodeId }
}

interface Status { relays: Array<{ registered: boolean, state: string }>, endpoints: Array<{ kind: string }>, trackers: Array<{ nodeId: string, known: boolean, requests: number, failures: number }> }
const status = async (dir: string): Promise<Status> => JSON.parse((await exec(['status', '--state-dir', dir, '--json'])).out) as Status

describe('egtp-node with trackers', () => {
  test('nodes started with only --bootpage URL --bootpage-key KEY find each other by node ID', { timeout: 60_000 }, async ({ onTestFinished }) => {
    const { trackers: ts, url, key } = await trackersAndPage(onTestFinished, 2)
    const trackerIds = ts.map(t => t.ready.nodeId).sort()
    const [dirA, dirB] = [await tempDir(onTestFinished), await tempDir(onTestFinished)]
    const page = ['--bootpage', url, '--bootpage-key', key]
    const a = await start(NODE_MAIN, ['run', '--state-dir', dirA, '--listen', '127.0.0.1:0', ...page, '--json'], onTestFinished)
    const b = await start(NODE_MAIN, ['run', '--state-dir', dirB, '--listen', '127.0.0.1:0', ...page, '--json'], onTestFinished)
    expect((a.ready.trackers as string[]).sort()).toEqual(trackerIds)
    expect(existsSync(join(dirA, 'bootpage', 'bootpage.v'))).toBe(true) // the page cache lives in the state dir

    // A knows B's node ID and nothing else about it.
    const q = await exec(['query', b.ready.nodeId, 'echo', '"through the trackers"', '--state-dir', dirA])
    expect(q.err).toBe('')
    expect(q.out).toBe('"through the trackers"\n')
    expect((await exec(['send', a.ready.nodeId, 'hello A', '--state-dir', dirB])).code).toBe(0)
    await until(() => a.lines.some(l => l.includes('hello A')), 5_000, 'A to print B\'s message')
    const s = await status(dirA)
    expect(s.trackers.map(t => t.nodeId).sort()).toEqual(trackerIds)
    for (const t of s.trackers) expect(t).toMatchObject({ known: true, failures: 0 })
    expect(s.trackers.reduce((n, t) => n + t.requests, 0)).toBeGreaterThan(0)

    // The flag-only form, driven over IPC as apps/demo drives nodes, finds B the same way.
    const c = await start(NODE_MAIN, ['--listen', '127.0.0.1:0', ...page], onTestFinished, true)
    c.child.send({ op: 'query', id: 1, peer: b.ready.nodeId, type: 'echo', payload: 'ipc' })
    const [answer] = await once(c.child, 'message') as [{ op: string, id: number, ok: boolean, value: unknown }]
    expect(answer).toMatchObject({ op: 'result', id: 1, ok: true, value: 'ipc' })

    // B stops: its signed goodbye withdraws its record, so a newcomer finds no record for B at all.
    b.child.kill('SIGTERM')
    const [code] = await once(b.child, 'exit') as [number]
    expect(code).toBe(0)
    const dirD = await tempDir(onTestFinished)
    await start(NODE_MAIN, ['run', '--state-dir', dirD, '--listen', '127.0.0.1:0', ...page, '--json'], onTestFinished)
    const gone = await exec(['query', b.ready.nodeId, 'echo', '"x"', '--state-dir', dirD, '--timeout-ms', '5000'])
    expect(gone.code).toBe(1)
    expect(gone.err).toMatch(/no contact record/)
  })

  test('a relay-only node (--relay auto, no --listen) is reached by ID through a relay it found on the trackers', { timeout: 60_000 }, async ({ onTestFinished }) => {
    const { trackers: ts, url, key } = await trackersAndPage(onTestFinished, 1)
    const page = ['--bootpage', url, '--bootpage-key', key]
    const relay = await start(RELAY_MAIN, ['--listen', '127.0.0.1:0', ...page], onTestFinished)
    expect(decodeContactRecord(Buffer.from(relay.ready.record, 'base64')).services).toEqual(['relay'])

    const [dirA, dirC, dirE] = [await tempDir(onTestFinished), await tempDir(onTestFinished), await tempDir(onTestFinished)]
    const c = await start(NODE_MAIN, ['run', '--state-dir', dirC, '--relay', 'auto', ...page, '--json'], onTestFinished)
    // No --relay at all: with trackers and no --listen, auto is the default.
    const e = await start(NODE_MAIN, ['run', '--state-dir', dirE, ...page, '--json'], onTestFinished)
    for (const dir of [dirC, dirE]) {
      await until(async () => (await status(dir)).relays.some(r => r.registered && r.state === 'ready'), 10_000, 'a relay registration')
      const s = await status(dir)
      expect(s.endpoints).toEqual([expect.objectContaining({ kind: 'relay', relay: relay.ready.nodeId })])
      // The relay client's first shop, while the node was still starting, is not a tracker's failure.
      expect(s.trackers).toEqual([expect.objectContaining({ nodeId: ts[0]!.ready.nodeId, known: true, failures: 0 })])
    }
    await start(NODE_MAIN, ['run', '--state-dir', dirA, '--listen', '127.0.0.1:0', ...page, '--json'], onTestFinished)
    for (const peer of [c, e]) {
      await until(async () => (await exec(['query', peer.ready.nodeId, 'echo', '"via relay"', '--state-dir', dirA, '--timeout-ms', '5000'])).out === '"via relay"\n', 15_000, 'A to reach a relay-only node by ID')
    }

    // The relay withdraws its record on SIGTERM: the trackers stop offering it.
    const probe = await createNode({ commstrats: [tcp()()], limits: { stopTimeoutMs: 200 } })
    const mt = trackers({ trackers: ts.map(t => decodeContactRecord(Buffer.from(t.ready.record, 'base64'))) })
    mt.attach(probe)
    await probe.start()
    onTestFinished(async () => { await mt.stop(); await probe.stop() })
    expect((await mt.discover('relay')).map(r => r.nodeId)).toEqual([relay.ready.nodeId])
    relay.child.kill('SIGTERM')
    const [code] = await once(relay.child, 'exit') as [number]
    expect(code).toBe(0)
    expect(await mt.discover('relay')).toEqual([])
  })

  test('a bootpage no mirror serves: the node runs anyway, says so once, and has no tracker', { timeout: 30_000 }, async ({ onTestFinished }) => {
    const closed = createServer()
    await new Promise<void>(resolve => { closed.listen(0, '127.0.0.1', resolve) })
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>(resolve => { closed.close(() => { resolve() }) })
    const n = await start(NODE_MAIN, ['run', '--listen', '127.0.0.1:0', '--bootpage', `http://127.0.0.1:${port}/bootpage.json`, '--bootpage-key', generateIdentity().nodeId, '--json'], onTestFinished)
    expect(n.ready.trackers).toEqual([])
    await until(() => n.stderr().includes('"event":"trackers:none"'), 5_000, 'the notice')
    expect(n.stderr().match(/trackers:none/g)).toHaveLength(1)
  })

  test('tracker options: every mistake is one line and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', '--bootpage', 'http://127.0.0.1:9/p.json'], /--bootpage needs --bootpage-key/],
      [['run', '--listen', '127.0.0.1:0', '--bootpage-key', generateIdentity().nodeId], /--bootpage-key needs --bootpage/],
      [['run', '--bootpage', 'file:///etc/passwd', '--bootpage-key', generateIdentity().nodeId], /http: or https:/],
      [['run', '--bootpage', 'http://127.0.0.1:9/p.json', '--bootpage-key', 'nonsense'], /--bootpage-key/],
      [['run', '--relay', 'auto'], /--relay auto needs --tracker or --bootpage/],
      [['run', '--tracker', 'bm90IGEgcmVjb3Jk'], /--tracker/],
      [['run', '--tracker', '/no/such/file'], /--tracker/]
    ]
    // Run together: seven processes one after another took over the test's 20 s on a loaded 2-core machine.
    const results = await Promise.all(cases.map(async ([args]) => await exec(args)))
    cases.forEach(([args, message], i) => {
      expect(results[i]!.code, args.join(' ')).toBe(2)
      expect(results[i]!.err.split('\n')[0], args.join(' ')).toMatch(message)
    })
  })
})
