import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import type { EgtpError } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { DEFAULT_MAX_BOOTPAGE_BYTES, DEFAULT_MIN_RELOAD_INTERVAL_MS, createBootpage, createBootpageLoader, parseBootpage } from '../../src/index.ts'
import type { BootpageLoader, BootpageLoaderInit } from '../../src/index.ts'
import { DAY, fixture, trackerRecord } from '../helpers.ts'
import { deadUrl, manualClock, startServer } from './server.ts'
import type { TestServer } from './server.ts'

/** Serves fixed bodies per path (404 for others). */
async function pages (routes: Record<string, string | number>, onTestFinished: (fn: () => Promise<void>) => void): Promise<TestServer> {
  const s = await startServer((req, res) => {
    const body = routes[req.url ?? '']
    if (body === undefined) { res.writeHead(404).end('not here'); return }
    if (typeof body === 'number') { res.writeHead(body).end(`status ${body}`); return }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  onTestFinished(s.close)
  return s
}

function loader (init: BootpageLoaderInit, onTestFinished: (fn: () => void) => void): BootpageLoader {
  const l = createBootpageLoader(init)
  onTestFinished(() => { l.close() })
  return l
}

/** The error `load()` rejected with, and the per-source codes inside an ERR_BOOTPAGE. */
async function failure (l: BootpageLoader): Promise<{ code: string, causes: string[] }> {
  const err = await l.load().then(() => { throw new Error('load() resolved') }, (e: unknown) => e)
  if (!isEgtpError(err)) throw err
  const causes = err.cause instanceof AggregateError ? err.cause.errors.map(e => (e as EgtpError).code) : []
  return { code: err.code, causes }
}

describe('bootpage loader over real HTTP on 127.0.0.1', () => {
  test('loads and verifies a good page: trackers, relays, metadata, events', async ({ onTestFinished }) => {
    const { signer, records, page } = fixture()
    const s = await pages({ '/bootpage.json': page }, onTestFinished)
    const l = loader({ urls: [s.url('/bootpage.json')], key: signer.nodeId }, onTestFinished)
    const seen: string[] = []
    l.addEventListener('bootpage:attempt', e => { seen.push(`attempt ${e.detail.url}`) })
    l.addEventListener('bootpage:loaded', e => { seen.push(`loaded ${e.detail.result.source}`) })
    const r = await l.load()
    expect(r.source).toBe(s.url('/bootpage.json'))
    expect(r.ageMs).toBe(0)
    expect(r.signer).toBe(signer.nodeId)
    expect(r.trackers.map(t => t.nodeId)).toEqual([records[0]!.nodeId, records[1]!.nodeId])
    expect(r.relays.map(t => t.nodeId)).toEqual([records[2]!.nodeId])
    expect(r.expiresAt).toBeGreaterThan(r.issuedAt)
    expect(l.last).toBe(r)
    expect(seen).toEqual([`attempt ${s.url('/bootpage.json')}`, `loaded ${s.url('/bootpage.json')}`])
  })

  test('wrong key, tampered, expired, truncated, unknown version: each refused with its code, then the next URL is tried', async ({ onTestFinished }) => {
    const { signer, page } = fixture()
    const other = fixture().page
    const doc = JSON.parse(page) as Record<string, unknown>
    const tampered = JSON.stringify({ ...doc, expiresAt: new Date(Date.parse(doc.expiresAt as string) + DAY).toISOString() })
    const expired = createBootpage(signer, { records: [trackerRecord(4001)], issuedAt: Date.now() - 2 * DAY, expiresAt: Date.now() - DAY })
    const v2 = JSON.stringify({ ...doc, version: 2 })
    const s = await pages({ '/other': other, '/tampered': tampered, '/expired': expired, '/truncated': page.slice(0, page.length >> 1), '/v2': v2, '/good': page }, onTestFinished)
    const urls = ['/other', '/tampered', '/expired', '/truncated', '/v2'].map(p => s.url(p))
    const refused: string[] = []
    const all = loader({ urls, key: signer.nodeId }, onTestFinished)
    all.addEventListener('bootpage:refused', e => { refused.push(e.detail.error.code) })
    const expectedCodes = ['ERR_KEY_MISMATCH', 'ERR_SIGNATURE', 'ERR_BOOTPAGE_EXPIRED', 'ERR_BOOTPAGE_MALFORMED', 'ERR_VERSION']
    expect(await failure(all)).toEqual({ code: 'ERR_BOOTPAGE', causes: expectedCodes })
    expect(refused).toEqual(expectedCodes)
    expect(s.requests).toEqual(['/other', '/tampered', '/expired', '/truncated', '/v2'])

    const withMirror = loader({ urls: [...urls, s.url('/good')], key: signer.nodeId }, onTestFinished)
    expect((await withMirror.load()).source).toBe(s.url('/good'))
  })

  test('404 and 500, then a good mirror; a closed port is ERR_UNREACHABLE', async ({ onTestFinished }) => {
    const { signer, page } = fixture()
    const s = await pages({ '/500': 500, '/good': page }, onTestFinished)
    const dead = await deadUrl()
    const l = loader({ urls: [s.url('/404'), s.url('/500'), dead, s.url('/good')], key: signer.nodeId, staggerMs: 60_000 }, onTestFinished)
    const refused: Array<[string, string]> = []
    l.addEventListener('bootpage:refused', e => { refused.push([e.detail.url, e.detail.error.code]) })
    expect((await l.load()).source).toBe(s.url('/good'))
    expect(refused).toEqual([[s.url('/404'), 'ERR_BOOTPAGE_HTTP'], [s.url('/500'), 'ERR_BOOTPAGE_HTTP'], [dead, 'ERR_UNREACHABLE']])
    expect(s.requests).toEqual(['/404', '/500', '/good'])
  })

  test('a body cut off mid-way (connection closed before Content-Length) is ERR_UNREACHABLE, then the next URL', async ({ onTestFinished }) => {
    const { signer, page } = fixture()
    const s = await startServer((req, res) => {
      if (req.url === '/good') { res.writeHead(200).end(page); return }
      res.writeHead(200, { 'content-length': String(page.length) })
      res.write(page.slice(0, page.length >> 1), () => { res.socket?.destroy() })
    })
    onTestFinished(s.close)
    const l = loader({ urls: [s.url('/cut'), s.url('/good')], key: signer.nodeId }, onTestFinished)
    const refused: string[] = []
    l.addEventListener('bootpage:refused', e => { refused.push(e.detail.error.code) })
    expect((await l.load()).source).toBe(s.url('/good'))
    expect(refused).toEqual(['ERR_UNREACHABLE'])
  })

  test('a URL that does not answer is given a parallel successor after staggerMs, and is aborted when it wins', async ({ onTestFinished }) => {
    const { signer, page } = fixture()
    let hungClosed!: () => void
    const closed = new Promise<void>(resolve => { hungClosed = resolve })
    const s = await startServer((req, res) => {
      if (req.url === '/hang') { res.on('close', hungClosed); return } // never answers
      res.writeHead(200).end(page)
    })
    onTestFinished(s.close)
    const l = loader({ urls: [s.url('/hang'), s.url('/good')], key: signer.nodeId, staggerMs: 50 }, onTestFinished)
    const r = await l.load()
    expect(r.source).toBe(s.url('/good'))
    await closed // the loser's request was aborted, not left to time out
    expect(s.requests).toEqual(['/hang', '/good'])
  })

  test('a slow server (no headers) and a slowloris body both end in ERR_TIMEOUT', async ({ onTestFinished }) => {
    const { signer, page } = fixture()
    const timers: Array<ReturnType<typeof setInterval>> = []
    onTestFinished(() => { for (const t of timers) clearInterval(t) })
    let drips = 0
    const s = await startServer((req, res) => {
      if (req.url === '/slow') return
      res.writeHead(200, { 'content-length': String(page.length) })
      let at = 0
      const t = setInterval(() => { if (at < page.length) { res.write(page[at++]!); drips++ } }, 20)
      timers.push(t)
      res.on('close', () => { clearInterval(t) })
    })
    onTestFinished(s.close)
    const slow = loader({ urls: [s.url('/slow')], key: signer.nodeId, fetchTimeoutMs: 300 }, onTestFinished)
    expect(await failure(slow)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_TIMEOUT'] })
    const loris = loader({ urls: [s.url('/drip')], key: signer.nodeId, fetchTimeoutMs: 1000 }, onTestFinished)
    expect(await failure(loris)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_TIMEOUT'] })
    expect(drips).toBeGreaterThan(0) // the body had started: the deadline covers the body, not only the headers
    expect(drips).toBeLessThan(page.length)
  })

  test('an endless body is refused while streaming, past maxBytes; a declared oversize before reading', async ({ onTestFinished }) => {
    const { signer } = fixture()
    let written = 0
    let endlessClosed!: () => void
    const closed = new Promise<void>(resolve => { endlessClosed = resolve })
    const chunk = Buffer.alloc(16 * 1024, 0x20)
    const s = await startServer((req, res) => {
      if (req.url === '/declared') { res.writeHead(200, { 'content-length': String(1024 * 1024 * 1024) }); res.write('{'); return }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"format":"egtp-bootpage","version":1,"pad":"')
      let open = true
      res.on('close', () => { open = false; endlessClosed() })
      const pump = (): void => {
        while (open && res.write(chunk)) written += chunk.length
        if (open) { written += chunk.length; res.once('drain', pump) }
      }
      pump()
    })
    onTestFinished(s.close)
    const l = loader({ urls: [s.url('/endless'), s.url('/declared')], key: signer.nodeId, staggerMs: 60_000 }, onTestFinished)
    expect(await failure(l)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_BOOTPAGE_TOO_LARGE', 'ERR_BOOTPAGE_TOO_LARGE'] })
    await closed
    // The server could only push what the loader read (≤ maxBytes + one chunk) plus the socket buffers.
    console.log(`endless body: the server wrote ${(written / 1024).toFixed(0)} KiB before the loader cut it off (maxBytes ${DEFAULT_MAX_BOOTPAGE_BYTES / 1024} KiB)`)
    expect(written).toBeLessThan(64 * 1024 * 1024)
  })

  test('redirects: followed to another origin within the limit; loops, non-http targets and https→http refused', async ({ onTestFinished }) => {
    const { signer, page } = fixture()
    const mirror = await pages({ '/page': page }, onTestFinished)
    const s = await startServer((req, res) => {
      const to: Record<string, string> = { '/away': `${mirror.origin}/page`, '/a': '/b', '/b': '/a', '/file': 'file:///etc/passwd', '/ftp': 'ftp://127.0.0.1/x', '/none': '' }
      const target = to[req.url ?? '']
      if (target === undefined) { res.writeHead(404).end(); return }
      res.writeHead(302, target === '' ? {} : { location: target }).end()
    })
    onTestFinished(s.close)
    const l = loader({ urls: [s.url('/away')], key: signer.nodeId }, onTestFinished)
    const redirects: string[] = []
    l.addEventListener('bootpage:redirect', e => { redirects.push(e.detail.to) })
    const r = await l.load()
    expect(r.source).toBe(s.url('/away')) // the URL configured; the redirect event names the target
    expect(redirects).toEqual([`${mirror.origin}/page`])

    const loop = loader({ urls: [s.url('/a')], key: signer.nodeId, maxRedirects: 3 }, onTestFinished)
    const before = s.requests.length
    expect(await failure(loop)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_BOOTPAGE_REDIRECT'] })
    expect(s.requests.slice(before)).toEqual(['/a', '/b', '/a', '/b']) // the first request and 3 redirects
    for (const path of ['/file', '/ftp', '/none']) {
      const bad = loader({ urls: [s.url(path)], key: signer.nodeId }, onTestFinished)
      expect(await failure(bad)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_BOOTPAGE_REDIRECT'] })
    }
    const none = loader({ urls: [s.url('/away')], key: signer.nodeId, maxRedirects: 0 }, onTestFinished)
    expect(await failure(none)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_BOOTPAGE_REDIRECT'] })
  })

  test('a tracker record that is forged is left out; the page still loads with the others', async ({ onTestFinished }) => {
    const signer = generateIdentity()
    const good = trackerRecord(4001)
    const victim = trackerRecord(4002)
    const page = createBootpage(signer, { records: [good, victim], expiresAt: Date.now() + DAY })
    // The page is re-signed by its key after the victim's endpoint was changed: the page signature holds, the
    // record's does not.
    const doc = JSON.parse(page) as { records: Array<{ endpoints: Array<{ port: number }> }> }
    doc.records[1]!.endpoints[0]!.port = 6666
    const { signForTest } = await import('./sign.ts')
    const forgedPage = signForTest(signer, JSON.stringify(doc))
    const s = await pages({ '/p': forgedPage }, onTestFinished)
    const l = loader({ urls: [s.url('/p')], key: signer.nodeId }, onTestFinished)
    const refused: string[] = []
    l.addEventListener('bootpage:record-refused', e => { refused.push(`${e.detail.record.nodeId} ${e.detail.record.error.code}`) })
    const r = await l.load()
    expect(r.trackers.map(t => t.nodeId)).toEqual([good.nodeId])
    expect(refused).toEqual([`${victim.nodeId} ERR_SIGNATURE`])
  })

  test('cache: the last good page is used when no URL answers, with its age; expired cache refused; no stateDir writes nothing', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-bootpage-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const { signer, page } = fixture({ expiresAt: Date.now() + 10 * DAY })
    const s = await pages({ '/p': page }, onTestFinished)
    const clock = manualClock()
    const first = loader({ urls: [s.url('/p')], key: signer.nodeId, stateDir: join(dir, 'state'), clock }, onTestFinished)
    expect((await first.load()).source).toBe(s.url('/p'))
    expect(await readdir(join(dir, 'state'))).toEqual(['bootpage.v'])

    const dead = await deadUrl()
    clock.advance(5 * 60_000)
    const offline = loader({ urls: [dead], key: signer.nodeId, stateDir: join(dir, 'state'), clock }, onTestFinished)
    const r = await offline.load()
    expect(r.source).toBe('cache')
    expect(r.url).toBe(s.url('/p'))
    expect(r.ageMs).toBe(5 * 60_000)
    expect(r.trackers).toHaveLength(2)

    // A cached page is verified again on use: past its expiry, or for another key, it is worth nothing.
    clock.advance(11 * DAY)
    const late = loader({ urls: [dead], key: signer.nodeId, stateDir: join(dir, 'state'), clock }, onTestFinished)
    expect(await failure(late)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_BOOTPAGE_EXPIRED', 'ERR_UNREACHABLE'] })
    const otherKey = loader({ urls: [dead], key: generateIdentity().nodeId, stateDir: join(dir, 'state') }, onTestFinished)
    expect(await failure(otherKey)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_KEY_MISMATCH', 'ERR_UNREACHABLE'] })

    // A damaged cache entry is refused like any other source.
    await writeFile(join(dir, 'state', 'bootpage.v'), '{"format":"egtp-bootpage-cache","version":1,"savedAt":0,"url":"x","page":"{"}')
    const damaged = loader({ urls: [dead], key: signer.nodeId, stateDir: join(dir, 'state'), clock }, onTestFinished)
    expect(await failure(damaged)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_BOOTPAGE_MALFORMED', 'ERR_UNREACHABLE'] })

    // Without a stateDir (or store) nothing is written and there is nothing to fall back on.
    const cwdBefore = await readdir(process.cwd())
    const memoryOnly = loader({ urls: [s.url('/p')], key: signer.nodeId }, onTestFinished)
    await memoryOnly.load()
    expect(await readdir(process.cwd())).toEqual(cwdBefore)
    const memoryOffline = loader({ urls: [dead], key: signer.nodeId }, onTestFinished)
    expect(await failure(memoryOffline)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_UNREACHABLE'] })
  })

  test('the minimum reload interval: no request to the mirror before it has passed; concurrent loads share one request', async ({ onTestFinished }) => {
    const { signer, page } = fixture()
    const s = await pages({ '/p': page }, onTestFinished)
    const clock = manualClock()
    const l = loader({ urls: [s.url('/p')], key: signer.nodeId, clock }, onTestFinished)
    const [a, b] = await Promise.all([l.load(), l.load()])
    expect(a).toBe(b)
    expect(s.requests).toHaveLength(1)
    expect(l.msUntilReload()).toBe(DEFAULT_MIN_RELOAD_INTERVAL_MS)
    clock.advance(DEFAULT_MIN_RELOAD_INTERVAL_MS - 1)
    expect(await failure(l)).toEqual({ code: 'ERR_RATE_LIMITED', causes: [] })
    expect(s.requests).toHaveLength(1)
    expect(l.last).toBe(a)
    clock.advance(1)
    await l.load()
    expect(s.requests).toHaveLength(2)

    // A failed load counts too: a node whose every mirror is down does not retry in a loop.
    await s.close()
    clock.advance(DEFAULT_MIN_RELOAD_INTERVAL_MS)
    expect((await failure(l)).code).toBe('ERR_BOOTPAGE')
    expect((await failure(l)).code).toBe('ERR_RATE_LIMITED')
  })

  test('a restart within the reload interval uses the cached page and leaves the mirror alone', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-bootpage-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const { signer, page } = fixture()
    const s = await pages({ '/p': page }, onTestFinished)
    const clock = manualClock()
    const init = { urls: [s.url('/p')], key: signer.nodeId, stateDir: dir, clock }
    expect((await loader(init, onTestFinished).load()).source).toBe(s.url('/p'))
    clock.advance(10_000)
    const restarted = await loader(init, onTestFinished).load()
    expect(restarted).toMatchObject({ source: 'cache', ageMs: 10_000 })
    expect(s.requests).toHaveLength(1)
    clock.advance(DEFAULT_MIN_RELOAD_INTERVAL_MS)
    expect((await loader(init, onTestFinished).load()).source).toBe(s.url('/p'))
    expect(s.requests).toHaveLength(2)
  })

  test('no rollback: a mirror serving a page older than the one held is refused (ERR_STALE_RECORD)', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-bootpage-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const signer = generateIdentity()
    const records = [trackerRecord(4001)]
    const older = createBootpage(signer, { records, issuedAt: Date.now() - DAY, expiresAt: Date.now() + DAY })
    const newer = createBootpage(signer, { records, issuedAt: Date.now() - 1000, expiresAt: Date.now() + DAY })
    const routes: Record<string, string> = { '/p': newer }
    const s = await pages(routes, onTestFinished)
    const clock = manualClock()
    // In memory: the same loader, after the interval, while the mirror went back to the older page.
    const memory = loader({ urls: [s.url('/p')], key: signer.nodeId, clock }, onTestFinished)
    const first = await memory.load()
    routes['/p'] = older
    clock.advance(DEFAULT_MIN_RELOAD_INTERVAL_MS)
    expect(await failure(memory)).toEqual({ code: 'ERR_BOOTPAGE', causes: ['ERR_STALE_RECORD'] })
    expect(memory.last).toBe(first)
    // Across restarts, through the cache: the older page is refused and the cached newer one is used.
    routes['/p'] = newer
    const init = { urls: [s.url('/p')], key: signer.nodeId, stateDir: dir, clock }
    await loader(init, onTestFinished).load()
    routes['/p'] = older
    clock.advance(DEFAULT_MIN_RELOAD_INTERVAL_MS)
    const restarted = loader(init, onTestFinished)
    const refused: string[] = []
    restarted.addEventListener('bootpage:refused', e => { refused.push(e.detail.error.code) })
    const r = await restarted.load()
    expect(r.source).toBe('cache')
    expect(r.issuedAt).toBe(parseBootpage(newer).issuedAt)
    expect(refused).toEqual(['ERR_STALE_RECORD'])
  })

  test('abort and close: a caller abort rejects with its reason untouched; close() ends the loader', async ({ onTestFinished }) => {
    const { signer } = fixture()
    const s = await startServer(() => {}) // never answers
    onTestFinished(s.close)
    const l = loader({ urls: [s.url('/hang')], key: signer.nodeId }, onTestFinished)
    const controller = new AbortController()
    const pending = l.load({ signal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    const second = l.load()
    l.close()
    await expect(second).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await expect(l.load()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    expect(() => createBootpageLoader({ urls: ['file:///etc/passwd'], key: signer.nodeId })).toThrow(TypeError)
    expect(() => createBootpageLoader({ urls: [], key: signer.nodeId })).toThrow(RangeError)
    expect(() => createBootpageLoader({ urls: [s.url('/')], key: signer.nodeId, maxBytes: 0 })).toThrow(RangeError)
  })
})
