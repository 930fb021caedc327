import { mkdtemp, rm, writeFile, appendFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeContactRecord } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { MemoryRecordStore } from '../src/server/memory-store.ts'
import type { HeldRecord } from '../src/server/store.ts'
import { record } from './helpers/net.ts'

function held (seq: number, expiresAt: number, r = record({ seq, services: ['relay'] })): HeldRecord {
  return { nodeId: r.record.nodeId, seq, expiresAt, services: ['relay'], bytes: encodeContactRecord(r.record) }
}

async function tempDir (onTestFinished: (fn: () => Promise<void>) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-mt-store-'))
  onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

describe('durable memory store', () => {
  test('a reopened store keeps what was held, withdrawn and replaced, and drops what expired meanwhile', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const store = new MemoryRecordStore({ dataDir: dir })
    await store.open(0)
    const kept = held(1, 10_000)
    const gone = held(1, 10_000)
    const expires = held(1, 500)
    const first = record({ seq: 1, services: ['relay'] })
    const replaced = held(2, 10_000, record({ identity: first.identity, seq: 2, services: ['relay'] }))
    for (const h of [kept, gone, expires, held(1, 10_000, first)]) expect(await store.put(h, 0)).toBe('stored')
    expect(await store.put(replaced, 0)).toBe('stored')
    expect(await store.withdraw(gone.nodeId, 1, 0)).toBe(true)
    await store.close()

    const again = new MemoryRecordStore({ dataDir: dir })
    await again.open(1000)
    onTestFinished(async () => { await again.close() })
    expect(await again.get([kept.nodeId, gone.nodeId, expires.nodeId, replaced.nodeId], 1000)).toEqual([kept.bytes, replaced.bytes])
    expect(await again.size()).toBe(2)
    expect(await again.sample('relay', 10, 1000)).toHaveLength(2)
    // The log was compacted to the live records on open.
    expect(await again.put(held(1, 10_000, first), 1000)).toBe('stale')
  })

  test('a torn last entry (a crash mid-write) is ignored; a corrupt log is refused with ERR_TRACKER_STORE', async ({ onTestFinished }) => {
    const dir = await tempDir(onTestFinished)
    const store = new MemoryRecordStore({ dataDir: dir })
    await store.open(0)
    const h = held(1, 10_000)
    await store.put(h, 0)
    await store.close()
    await appendFile(join(dir, 'records.log'), Uint8Array.of(0, 0, 1, 0, 0x93))
    const again = new MemoryRecordStore({ dataDir: dir })
    await again.open(0)
    expect(await again.get([h.nodeId], 0)).toEqual([h.bytes])
    await again.close()
    expect((await readFile(join(dir, 'records.log'))).byteLength).toBeGreaterThan(0)

    await writeFile(join(dir, 'records.log'), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1))
    await expect(new MemoryRecordStore({ dataDir: dir }).open(0)).rejects.toMatchObject({ code: 'ERR_TRACKER_STORE' })
  })
})
