import { describe, expect, test } from 'vitest'
import { memoryDirectory, until } from './helpers.ts'
import { RECOVERY_BOUND_MS, Side, Stream, tempDir } from './restart-harness.ts'
import type { Sent } from './restart-harness.ts'

const TIMEOUT_MS = 5000
const INTERVAL_MS = 10
/** Traffic that must have flowed before a restart, and after it before the streams end (instead of fixed sleeps). */
const BEFORE = 20
const AFTER = 100

const flowing = async (stream: Stream, since: number, n: number): Promise<void> => {
  await until(() => stream.deliveredSince(since) >= n, RECOVERY_BOUND_MS + 10_000, `${n} messages delivered`)
}

/** Every message sent was delivered exactly once or reported failed; nothing delivered twice. */
function expectExactlyOnceOrReported (stream: Stream, receiver: Side): void {
  const c = stream.counts()
  expect(c.unsettled ?? 0).toBe(0)
  const failed = stream.sent.filter(s => s.outcome !== 'ok')
  const ok = stream.sent.length - failed.length
  expect(ok + failed.length).toBe(stream.sent.length)
  expect(receiver.duplicates()).toBe(0)
  const allowed = ['ERR_UNREACHABLE', 'ERR_TIMEOUT', 'ERR_DELIVERY_UNCERTAIN', 'ERR_CLOSED']
  expect(failed.every((s: Sent) => allowed.includes(s.outcome!)), JSON.stringify(c)).toBe(true)
  // Reported delivered means delivered (once); reported unreachable means never delivered.
  for (const s of stream.sent) if (s.outcome === 'ok') expect(receiver.delivered.get(s.key), s.key).toBe(1)
  for (const s of stream.sent) if (s.outcome === 'ERR_UNREACHABLE') expect(receiver.delivered.get(s.key), s.key).toBeUndefined()
  // Traffic flowed at all, and the stream ends healthy: its last messages were delivered.
  expect(ok).toBeGreaterThan(stream.sent.length / 2)
  expect(stream.sent.slice(-5).every(s => s.outcome === 'ok'), JSON.stringify(stream.sent.slice(-5))).toBe(true)
}

/** A and B, each with a key file and data directory of its own, started; stopped and removed after the test. */
async function startedPair (onTestFinished: (fn: () => Promise<void>) => void): Promise<{ a: Side, b: Side }> {
  const tmp = await tempDir()
  onTestFinished(tmp.remove)
  const dir = memoryDirectory()
  const a = new Side('A', `${tmp.path}/a`, dir)
  const b = new Side('B', `${tmp.path}/b`, dir)
  onTestFinished(async () => { await a.stop(); await b.stop() })
  await a.start()
  await b.start()
  return { a, b }
}

/** Both streams end; traffic recovered within the bound after `restartedAt`, and each stream kept the promise. */
async function expectRecoveredBothWays (label: string, a: Side, b: Side, ab: Stream, ba: Stream, restartedAt: number): Promise<void> {
  await Promise.all([ab.finish(), ba.finish()])
  const recovery = Math.max(ab.recoveryMs(restartedAt), ba.recoveryMs(restartedAt))
  console.log(`${label}: recovered in ${Math.round(recovery)} ms`, ab.counts(), ba.counts())
  expect(recovery).toBeLessThan(RECOVERY_BOUND_MS)
  expectExactlyOnceOrReported(ab, b)
  expectExactlyOnceOrReported(ba, a)
}

describe('restart recovery (in process, persisted key and data directory)', () => {
  test('B restarts while A keeps sending', async ({ onTestFinished }) => {
    const { a, b } = await startedPair(onTestFinished)
    const idBefore = b.nodeId
    const ab = new Stream(a, b, INTERVAL_MS, TIMEOUT_MS)
    await flowing(ab, 0, BEFORE)
    await b.restart(200)
    expect(b.nodeId).toBe(idBefore)
    const restartedAt = b.startedAt
    await flowing(ab, restartedAt, AFTER)
    await ab.finish()
    const recovery = ab.recoveryMs(restartedAt)
    console.log(`B restart: recovered in ${Math.round(recovery)} ms`, ab.counts())
    expect(recovery).toBeLessThan(RECOVERY_BOUND_MS)
    expectExactlyOnceOrReported(ab, b)
  })

  test('A restarts while B keeps sending to it, and A resumes sending', async ({ onTestFinished }) => {
    const { a, b } = await startedPair(onTestFinished)
    const ab = new Stream(a, b, INTERVAL_MS, TIMEOUT_MS)
    const ba = new Stream(b, a, INTERVAL_MS, TIMEOUT_MS)
    await Promise.all([flowing(ab, 0, BEFORE), flowing(ba, 0, BEFORE)])
    await a.restart(200)
    const restartedAt = a.startedAt
    await Promise.all([flowing(ab, restartedAt, AFTER), flowing(ba, restartedAt, AFTER)])
    await expectRecoveredBothWays('A restart', a, b, ab, ba, restartedAt)
  })

  test('both restart while both send', async ({ onTestFinished }) => {
    const { a, b } = await startedPair(onTestFinished)
    const ab = new Stream(a, b, INTERVAL_MS, TIMEOUT_MS)
    const ba = new Stream(b, a, INTERVAL_MS, TIMEOUT_MS)
    await Promise.all([flowing(ab, 0, BEFORE), flowing(ba, 0, BEFORE)])
    // b goes down 50 ms after a (the offset is the scenario, not a wait for something)
    await Promise.all([a.restart(100), (async () => { await new Promise(resolve => setTimeout(resolve, 50)); await b.restart(250) })()])
    const restartedAt = Math.max(a.startedAt, b.startedAt)
    await Promise.all([flowing(ab, restartedAt, AFTER), flowing(ba, restartedAt, AFTER)])
    await expectRecoveredBothWays('both restart', a, b, ab, ba, restartedAt)
  })

  test('both restart and both initiate at the same instant (crossover)', async ({ onTestFinished }) => {
    const { a, b } = await startedPair(onTestFinished)
    // Sessions exist both ways before the restart.
    await a.node!.query(b.nodeId, 'q', { key: 'warm-ab' })
    await b.node!.query(a.nodeId, 'q', { key: 'warm-ba' })
    await Promise.all([a.stop(), b.stop()])
    await Promise.all([a.start(), b.start()])
    const restartedAt = Math.max(a.startedAt, b.startedAt)
    // Neither has a session now; both open one in the same turn, many messages each way.
    const ab = new Stream(a, b, INTERVAL_MS, TIMEOUT_MS)
    const ba = new Stream(b, a, INTERVAL_MS, TIMEOUT_MS)
    const burst = await Promise.allSettled(Array.from({ length: 50 }, async (_, i) => await Promise.all([
      a.node!.query(b.nodeId, 'q', { key: `burst-ab-${i}` }, { timeoutMs: TIMEOUT_MS }),
      b.node!.query(a.nodeId, 'q', { key: `burst-ba-${i}` }, { timeoutMs: TIMEOUT_MS })
    ])))
    await Promise.all([flowing(ab, restartedAt, AFTER / 2), flowing(ba, restartedAt, AFTER / 2)])
    expect(burst.every(r => r.status === 'fulfilled'), JSON.stringify(burst.find(r => r.status === 'rejected'))).toBe(true)
    await expectRecoveredBothWays('crossover', a, b, ab, ba, restartedAt)
    for (let i = 0; i < 50; i++) {
      expect(b.delivered.get(`burst-ab-${i}`)).toBe(1)
      expect(a.delivered.get(`burst-ba-${i}`)).toBe(1)
    }
  })
})
