import { isDeepStrictEqual } from 'node:util'
import { describe, expect, test } from 'vitest'
import type { HandlerContext } from '../../src/index.ts'
import { memoryDirectory, sleep, startNode, until } from './helpers.ts'

// `handle(type, handler, { borrowPayload: true })`: the payload is a view of the frame's own memory (opened in
// place), valid until the handler returns or settles; that memory then serves later frames. These tests make
// later frames arrive while payloads are still in use, and check every byte: a view handed out too early, or a
// recycled frame someone still viewed, would show other bytes.

/** A payload of `i`: its index in its first two bytes, then a pattern of it. */
function payload (i: number, bytes = 30_000 + (i % 5) * 7_000): Uint8Array {
  const p = new Uint8Array(bytes).map((_, j) => (j * 131 + i * 17) & 0xff)
  p[0] = i & 0xff
  p[1] = i >> 8
  return p
}
const indexOf = (p: Uint8Array): number => p[0]! | (p[1]! << 8)
const intact = (p: Uint8Array): boolean => isDeepStrictEqual(p, payload(indexOf(p), p.byteLength))

/** Send `n` messages of `type` (payload `payload(i)`), `window` at a time. */
async function sendAll (send: (i: number) => Promise<unknown>, n: number, window = 32): Promise<void> {
  for (let start = 0; start < n; start += window) {
    await Promise.all(Array.from({ length: Math.min(window, n - start) }, async (_, k) => { await send(start + k) }))
  }
}

describe('handlers that borrow their payload, over real tcp', () => {
  test('a synchronous borrowing handler sees every payload intact, and frames\' memory is reused for later ones', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished)
    const seen = new Set<number>()
    const buffers = new Set<ArrayBufferLike>()
    let bad = 0
    const contexts: Array<{ ctx: HandlerContext, id: string }> = []
    b.handle('bulk', (p, ctx) => {
      const bytes = p as Uint8Array
      if (!intact(bytes)) bad++
      seen.add(indexOf(bytes))
      buffers.add(bytes.buffer)
      contexts.push({ ctx, id: ctx.messageId }) // a context kept past its handler still names its message
    }, { borrowPayload: true })
    const n = 300
    await sendAll(async i => { await a.send(b.nodeId, 'bulk', payload(i)) }, n)
    expect(bad).toBe(0)
    expect(seen.size).toBe(n)
    expect(new Set(contexts.map(c => c.id)).size).toBe(n)
    for (const { ctx, id } of contexts) expect(ctx.messageId).toBe(id)
    // Opened in place into recycled memory: far fewer distinct buffers than messages (libsodium is installed here).
    if (process.env.EGTP_NO_SODIUM !== '1') expect(buffers.size).toBeLessThan(n / 4)
  })

  test('an async borrowing handler\'s payload stays intact until its promise settles, while later frames arrive (and wait in the queue)', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished, { limits: { maxConcurrentHandlers: 4 } })
    let bad = 0
    const seen = new Set<number>()
    b.handle('slow', async (p) => {
      const bytes = p as Uint8Array
      const before = intact(bytes)
      await sleep(3) // later frames are read, opened and dispatched meanwhile (the others queue)
      if (!before || !intact(bytes)) bad++
      seen.add(indexOf(bytes))
    }, { borrowPayload: true })
    const n = 120
    await sendAll(async i => { await a.send(b.nodeId, 'slow', payload(i)) }, n)
    await until(() => seen.size === n) // a send settles once delivered: the last handlers may still run
    expect(bad).toBe(0)
  })

  test('payloads kept by a non-borrowing handler stay intact beside a borrowing one (mixed frames)', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished)
    const kept: Uint8Array[] = []
    let borrowedBad = 0
    b.handle('keep', (p) => { kept.push(p as Uint8Array) })
    b.handle('borrow', (p) => { if (!intact(p as Uint8Array)) borrowedBad++ }, { borrowPayload: true })
    const n = 240
    await sendAll(async i => { await a.send(b.nodeId, i % 3 === 0 ? 'keep' : 'borrow', payload(i)) }, n)
    expect(borrowedBad).toBe(0)
    expect(kept).toHaveLength(n / 3)
    for (const p of kept) expect(intact(p)).toBe(true)
  })

  test('a borrowing query handler may reply with its payload, or reply later; the caller gets the right bytes', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished)
    b.handle('echo', p => p, { borrowPayload: true })
    b.handle('later', (p, ctx) => {
      const i = indexOf(p as Uint8Array) // what it keeps: a number, not the bytes
      ctx.defer()
      setTimeout(() => { ctx.reply(i) }, 5)
    }, { borrowPayload: true })
    let bad = 0
    await sendAll(async i => {
      const echoed = await a.query(b.nodeId, 'echo', payload(i)) as Uint8Array
      if (!isDeepStrictEqual(echoed, payload(i))) bad++
    }, 90, 16)
    await sendAll(async i => {
      if (await a.query(b.nodeId, 'later', payload(i)) !== i) bad++
    }, 90, 16)
    expect(bad).toBe(0)
  })

  test('the option is validated only as a flag: a non-borrowing registration behaves as before, and unhandle forgets it', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished)
    b.handle('x', () => undefined, { borrowPayload: true })
    b.unhandle('x')
    const kept: Uint8Array[] = []
    b.handle('x', (p) => { kept.push(p as Uint8Array) }, { borrowPayload: false })
    await sendAll(async i => { await a.send(b.nodeId, 'x', payload(i)) }, 60)
    expect(kept).toHaveLength(60)
    for (const p of kept) expect(intact(p)).toBe(true)
  })
})
