// `seeds`: a client that starts from a bootpage alone, and reloads the page when every tracker it knows has
// died. Real trackers, a real bootpage served over node:http on 127.0.0.1, the real bootpage loader.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createBootpage, createBootpageLoader } from '@egtp/bootpage'
import { generateIdentity } from '@egtp/identity'
import type { ContactRecord } from '@egtp/interface'
import { createNode } from '@egtp/node'
import type { EgtpNode } from '@egtp/node'
import { describe, expect, test } from 'vitest'
import { trackers } from '../../src/client/index.ts'
import type { MetatrackerClient } from '../../src/client/index.ts'
import { listening, testnet, until } from '../helpers/net.ts'
import type { Cleanup } from '../helpers/net.ts'

/** A bootpage signed by `signer`, served at http://127.0.0.1:PORT/bootpage.json; `publish` replaces it. */
async function bootpageServer (cleanup: Cleanup): Promise<{ url: string, key: string, publish: (records: ContactRecord[]) => void, requests: () => number }> {
  const signer = generateIdentity()
  let page = ''
  let issuedAt = Date.now()
  let requests = 0
  const server = createServer((_req, res) => { requests++; res.writeHead(200, { 'content-type': 'application/json' }).end(page) })
  await new Promise<void>((resolve, reject) => { server.once('error', reject).listen(0, '127.0.0.1', resolve) })
  cleanup(async () => { server.closeAllConnections(); await new Promise<void>(resolve => { server.close(() => { resolve() }) }) })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bootpage.json`,
    key: signer.nodeId,
    // Each new page is issued later than the last: loaders refuse a rollback.
    publish: (records) => { issuedAt += 1000; page = createBootpage(signer, { records, issuedAt, expiresAt: issuedAt + 3_600_000 }) },
    requests: () => requests
  }
}

/** A node whose metatracker client knows nothing but the bootpage's URL and key. */
async function nodeFromPage (cleanup: Cleanup, page: { url: string, key: string }): Promise<{ node: EgtpNode, mt: MetatrackerClient, seeded: number[] }> {
  // The tests lift the two reload intervals (90 s each by default) by name.
  const loader = createBootpageLoader({ urls: [page.url], key: page.key, minReloadIntervalMs: 0 })
  const identity = generateIdentity()
  const mt = trackers({ trackers: [], seeds: async (o) => (await loader.load(o)).trackers, minSeedIntervalMs: 0, requestTimeoutMs: 1000, identity })
  const seeded: number[] = []
  mt.addEventListener('tracker:seeded', ({ detail }) => { seeded.push(detail.added) })
  const node = await createNode({ identity, commstrats: [listening()], lookup: mt, discovery: mt, announcer: mt, limits: { stopTimeoutMs: 200 } })
  mt.attach(node)
  node.handle('hi', (_p, ctx) => `hi ${ctx.peerId}`)
  cleanup(async () => { await mt.stop(); await node.stop(); loader.close() })
  await node.start()
  return { node, mt, seeded }
}

describe('trackers({ seeds })', () => {
  test('nodes start from a bootpage alone; when all their trackers die they reload the page and find the new ones', async ({ onTestFinished }) => {
    const first = await testnet(onTestFinished, { size: 2 })
    const second = await testnet(onTestFinished, { size: 2 })
    const page = await bootpageServer(onTestFinished)
    page.publish(first.records())

    const a = await nodeFromPage(onTestFinished, page)
    const b = await nodeFromPage(onTestFinished, page)
    const firstIds = first.trackers.map(t => t.node.nodeId).sort()
    expect(a.mt.trackerIds().sort()).toEqual(firstIds)
    expect(a.seeded).toEqual([2])
    expect(await a.node.query(b.node.nodeId, 'hi')).toBe(`hi ${a.node.nodeId}`)

    // Every tracker A knows dies; the operator lists new trackers in a new page.
    for (const t of first.trackers) { await t.server.stop(); await t.node.stop() }
    page.publish(second.records())
    const c = await nodeFromPage(onTestFinished, page)
    const secondIds = second.trackers.map(t => t.node.nodeId).sort()
    expect(c.mt.trackerIds().sort()).toEqual(secondIds)

    // A's lookup of C fails on both dead trackers: A reloads the page and asks the new trackers.
    expect(await a.node.query(c.node.nodeId, 'hi', null, { timeoutMs: 10_000 })).toBe(`hi ${a.node.nodeId}`)
    expect(a.seeded).toEqual([2, 2])
    expect(a.mt.trackerIds().sort()).toEqual([...firstIds, ...secondIds].sort())
    const stats = a.mt.stats()
    for (const id of firstIds) expect(stats[id]!.failures).toBeGreaterThan(0)
    // A's own record went to the new trackers at once, so C finds A by ID too.
    await until(async () => (await c.mt.lookup(a.node.nodeId)) !== undefined, 5000, 'A\'s record on the new trackers')
    expect(await c.node.query(a.node.nodeId, 'hi')).toBe(`hi ${c.node.nodeId}`)
  })

  test('seeds are asked at most once per minSeedIntervalMs, and their errors are swallowed', async ({ onTestFinished }) => {
    const page = await bootpageServer(onTestFinished)
    // No page is served: the loader fails (ERR_BOOTPAGE) the first time, then is rate-limited by its own interval.
    const loader = createBootpageLoader({ urls: [page.url], key: page.key })
    onTestFinished(() => { loader.close() })
    let calls = 0
    const mt = trackers({ trackers: [], seeds: async (o) => { calls++; return (await loader.load(o)).trackers } })
    const node = await createNode({ commstrats: [listening()], lookup: mt, limits: { stopTimeoutMs: 200 } })
    mt.attach(node)
    onTestFinished(async () => { await mt.stop(); await node.stop() })
    for (let i = 0; i < 5; i++) expect(await mt.lookup(generateIdentity().nodeId)).toBeUndefined()
    expect(await mt.discover('relay')).toEqual([])
    expect(calls).toBe(1)
    expect(page.requests()).toBe(1)
    expect(mt.trackerIds()).toEqual([])
  })

  test('without seeds, an empty tracker list is refused', () => {
    expect(() => trackers({ trackers: [] })).toThrow(TypeError)
  })
})
