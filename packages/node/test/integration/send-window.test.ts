// Flow control of send: writable(peer) / ready(peer) / 'peer:drain' and sendStream, over real TCP on 127.0.0.1.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { isEgtpError } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { DEFAULT_SEND_HIGH_WATER_MESSAGES } from '../../src/index.ts'
import { memoryDirectory, startNode, until } from './helpers.ts'
import { silentPeer } from './silent-peer.ts'

const code = (err: unknown): string => isEgtpError(err) ? err.code : err instanceof Error ? err.name : String(err)

describe('send window', () => {
  test('the simplest loop (writable, else await ready) stays within the high-water mark and delivers everything once', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const highWater = 64
    const a = await startNode(dir, onTestFinished, { limits: { sendHighWaterMessages: highWater } })
    const b = await startNode(dir, onTestFinished)
    const seen = new Map<number, number>()
    b.handle('n', (p) => { seen.set(p as number, (seen.get(p as number) ?? 0) + 1) })
    let drains = 0
    a.addEventListener('peer:drain', (e) => { if (e.detail.peerId === b.nodeId) drains++ })
    const failures: string[] = []
    let maxOutstanding = 0
    const n = 5000
    for (let i = 0; i < n; i++) {
      if (!a.writable(b.nodeId)) await a.ready(b.nodeId)
      a.send(b.nodeId, 'n', i).catch((err: unknown) => { failures.push(code(err)) })
      maxOutstanding = Math.max(maxOutstanding, a.stats().unacked.messages)
    }
    await until(() => a.stats().unacked.messages === 0, 10_000, 'every message to be acknowledged')
    expect(failures).toEqual([])
    expect(maxOutstanding).toBeLessThanOrEqual(highWater)
    expect(maxOutstanding).toBe(highWater) // the window was used to the full
    expect(drains).toBeGreaterThan(0)
    expect(seen.size).toBe(n)
    expect([...seen.values()].every(c => c === 1)).toBe(true)
  })

  test('the byte mark bounds large messages', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const highWaterBytes = 256 * 1024
    const a = await startNode(dir, onTestFinished, { limits: { sendHighWaterBytes: highWaterBytes } })
    const b = await startNode(dir, onTestFinished)
    let got = 0
    b.handle('blob', () => { got++ })
    const blob = new Uint8Array(40 * 1024)
    let maxBytes = 0
    for (let i = 0; i < 200; i++) {
      if (!a.writable(b.nodeId)) await a.ready(b.nodeId)
      void a.send(b.nodeId, 'blob', blob)
      maxBytes = Math.max(maxBytes, a.stats().unacked.bytes)
    }
    await until(() => got === 200, 10_000, 'every blob to arrive')
    // Checked before each send: at most one message beyond the mark.
    expect(maxBytes).toBeLessThan(highWaterBytes + blob.byteLength + 1024)
    expect(maxBytes).toBeGreaterThanOrEqual(highWaterBytes)
  })

  test('sendStream: write() follows the window, close() waits for every acknowledgement', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished, { limits: { sendHighWaterMessages: 100 } })
    const b = await startNode(dir, onTestFinished)
    const seen = new Set<number>()
    b.handle('n', (p) => { seen.add(p as number) })
    const writer = a.sendStream(b.nodeId, 'n').getWriter()
    let maxOutstanding = 0
    for (let i = 0; i < 3000; i++) {
      await writer.write(i)
      maxOutstanding = Math.max(maxOutstanding, a.stats().unacked.messages)
    }
    await writer.close()
    expect(seen.size).toBe(3000)
    expect(a.stats().unacked.messages).toBe(0)
    expect(maxOutstanding).toBeLessThanOrEqual(100)
  })

  test('sendStream: the first failed message errors the stream with its code', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished) // no handler for 'n'
    const writer = a.sendStream(b.nodeId, 'n').getWriter()
    await writer.write(1)
    expect(await writer.closed.catch(code)).toBe('ERR_NO_HANDLER')
    expect(await writer.write(2).catch(code)).toBe('ERR_NO_HANDLER')
  })

  test('ready: resolves when acknowledgements make room, rejects on abort and on stop; writable is false when not running', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished, { limits: { sendHighWaterMessages: 2, stopTimeoutMs: 200 } })
    const b = await startNode(dir, onTestFinished)
    b.handle('n', () => {})
    void a.send(b.nodeId, 'n', 1)
    void a.send(b.nodeId, 'n', 2)
    expect(a.writable(b.nodeId)).toBe(false) // two unacknowledged: the window of two is full
    await a.ready(b.nodeId) // until b's acknowledgement made room
    expect(a.writable(b.nodeId)).toBe(true)
    // A peer that never acknowledges: the window stays full.
    const silent = await silentPeer(dir, onTestFinished)
    const sent = [a.send(silent, 'n', 1).catch(code), a.send(silent, 'n', 2).catch(code)]
    expect(a.writable(silent)).toBe(false)
    const controller = new AbortController()
    const aborted = a.ready(silent, { signal: controller.signal }).catch((e: unknown) => e)
    setTimeout(() => { controller.abort() }, 50)
    expect(await aborted).toBe(controller.signal.reason)
    const waiting = a.ready(silent).catch(code)
    await new Promise(resolve => setTimeout(resolve, 50))
    await a.stop()
    expect(await waiting).toBe('ERR_CLOSED')
    expect(await Promise.all(sent)).toEqual(['ERR_DELIVERY_UNCERTAIN', 'ERR_DELIVERY_UNCERTAIN'])
    expect(a.writable(silent)).toBe(false)
    expect(await a.ready(silent).catch(code)).toBe('ERR_CLOSED')
    expect(DEFAULT_SEND_HIGH_WATER_MESSAGES).toBe(4096)
  })

  test('the README loops run as shown and deliver everything', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const node = await startNode(dir, onTestFinished, { limits: { sendHighWaterMessages: 32 } })
    const b = await startNode(dir, onTestFinished)
    const got: unknown[] = []
    b.handle('item', (p) => { got.push(p) })
    const peerId = b.nodeId
    const items = Array.from({ length: 500 }, (_, i) => i)
    const failed: unknown[] = []
    const onFailed = (err: unknown): void => { failed.push(err) }
    // README:loop
    for (const item of items) {
      if (!node.writable(peerId)) await node.ready(peerId)
      node.send(peerId, 'item', item).catch(onFailed)
    }
    // README:end
    await until(() => got.length === 500, 5000, 'the loop\'s items')
    // README:stream
    const writer = node.sendStream(peerId, 'item').getWriter()
    for (const item of items) await writer.write(item)
    await writer.close()
    // README:end
    expect(got.length).toBe(1000)
    expect(failed).toEqual([])
    const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
    const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8')
    for (const marker of ['// README:loop', '// README:stream']) {
      const start = self.indexOf(marker) + marker.length + 1
      const block = self.slice(start, self.indexOf('    // README:end', start))
      expect(readme).toContain(block.split('\n').map(l => l.slice(4)).join('\n').trim())
    }
  })

  test('argument checks', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    expect(() => a.writable('nope')).toThrow(/ERR_BAD_NODE_ID/)
    expect(() => a.writable(a.nodeId)).toThrow(/ERR_SELF/)
    expect(() => a.sendStream(a.nodeId, 'x')).toThrow(/ERR_SELF/)
    expect(() => a.sendStream('nope', '')).toThrow(TypeError)
    await expect(startNode(dir, onTestFinished, { limits: { sendHighWaterMessages: 0 } })).rejects.toThrow(RangeError)
  })
})
