// Found by the chaos soak (tests/soak, seed 2026, --long): a one-way message handled twice after the receiver
// restarted from a run whose wall clock was an hour behind. The de-duplication journal stamps each stream
// with the wall clock; on restore, a stream whose stamp looked older than the retention time was dropped, so
// a sender still re-sending a message the crashed run had handled got it delivered again.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileKeystore, FileStore } from '@egtp/identity'
import type { Clock } from '@egtp/interface'
import { afterEach, describe, expect, test } from 'vitest'
import { createNode, memoryDirectory } from '../../src/index.ts'
import type { EgtpNode } from '../../src/index.ts'
import { networkOf, until } from './helpers.ts'

const HOUR = 3_600_000
const skewed = (offsetMs: number): Clock => ({ now: () => Date.now() + offsetMs, monotonic: () => performance.now() })

describe('the de-duplication journal across a restart whose clock moved', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {})
  })

  async function scenario (firstOffsetMs: number, secondOffsetMs: number): Promise<{ handled: number, outcome: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-journal-clock-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const directory = memoryDirectory()
    let handled = 0
    const receiver = async (offsetMs: number): Promise<{ node: EgtpNode, crash: () => Promise<void> }> => {
      const transport = networkOf(directory).commstrat() // sockets add nothing here: the in-memory network
      const node = await createNode({
        keystore: new FileKeystore(join(dir, 'key')),
        store: new FileStore(join(dir, 'data')),
        commstrats: [transport],
        lookup: directory,
        announcer: directory,
        clock: skewed(offsetMs),
        // The acknowledgement must not leave before the "crash": the sender re-sends after the restart.
        limits: { ackDelayMs: 60_000 }
      })
      node.handle('o', () => { handled++ })
      await node.start()
      cleanups.push(async () => { await node.stop() })
      return { node, crash: async () => { await transport.stop() } }
    }
    // Quick retries, so the re-send reaches the restarted receiver well before the send's deadline.
    const sender = await createNode({
      commstrats: [networkOf(directory).commstrat()], lookup: directory, announcer: directory, limits: { retryInitialMs: 100, retryMaxMs: 300 }
    })
    cleanups.push(async () => { await sender.stop() })
    await sender.start()

    const first = await receiver(firstOffsetMs)
    const outcome = sender.send(first.node.nodeId, 'o', 'once', { timeoutMs: 4_000 }).then(() => 'ok', (err: { code?: string }) => err.code ?? 'error')
    await until(() => handled === 1, 5_000, 'the first delivery')
    await first.crash() // like kill -9: no acknowledgement, no goodbye; the journal holds the message in flight
    const second = await receiver(secondOffsetMs)
    // The re-sent message reached the restarted receiver, which recognised it from its journal (and drops it as uncertain).
    await until(() => (second.node.stats().dropped.uncertain ?? 0) > 0, 4_000, 'the re-send to reach the restarted receiver')
    const result = await outcome
    return { handled, outcome: result }
  }

  test('same clock: the re-sent message is not delivered again (the sender is told it is uncertain)', async () => {
    expect(await scenario(0, 0)).toEqual({ handled: 1, outcome: 'ERR_DELIVERY_UNCERTAIN' })
  }, 30_000)

  // Half an hour, not a whole one: a record signed an hour in the past has already expired (recordTtlMs).
  test('the clock half an hour behind before the restart: still delivered once', async () => {
    expect(await scenario(-HOUR / 2, 0)).toEqual({ handled: 1, outcome: 'ERR_DELIVERY_UNCERTAIN' })
  }, 30_000)
})
