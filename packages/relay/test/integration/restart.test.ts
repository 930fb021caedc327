// Issue test 2, over a real relay server on 127.0.0.1 with real nodes (@egtp/node + the relay client):
// B (relay-only, no listening socket) restarts with its persisted key while A keeps sending through the
// relay; then A restarts; then both; then crossover handshakes through the relay (both initiate at the same
// instant). Both nodes are relay-only, so every frame of either direction, handshakes and unknown-session
// hints included, travels through the relay: the 2004 deadlock's setting, where no other return path exists.
//
// Stated bound: traffic resumes within RECOVERY_BOUND_MS (10 s) of the restarted instance being up (its
// registration with the relay done). That is the session's handshake retry (1 s) and recovery-quiet period
// (5 s) plus the node's longest resend interval (4 s); measured recovery is usually well under 1 s. Every
// query sent is delivered exactly once (answered, handled once) or reported failed with an error code;
// lost = 0, duplicates = 0.
import { describe, expect, test } from 'vitest'
import { tcpServer } from './helpers.ts'
import { memoryDirectory, persisted, queryStream, startListeningNode, startRelayOnlyNode, tally } from './nodes.ts'
import type { EgtpNode, Outcome, RunningNode } from './nodes.ts'

const RECOVERY_BOUND_MS = 10_000
const QUERY_TIMEOUT_MS = 8_000
const INTERVAL_MS = 25
const DOWN_MS = 300
const AFTER_RESTART_MS = 2_000

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A handler of numbered queries that counts how often each number was handled. */
function counting (handled: Map<number, number>) {
  return (node: EgtpNode): void => {
    node.handle('seq', (n) => { handled.set(n as number, (handled.get(n as number) ?? 0) + 1); return n })
    node.handle('echo', (p) => p)
  }
}

type Who = 'B' | 'A' | 'both'

async function restartWhileStreaming (cleanup: (fn: () => Promise<void> | void) => void, who: Who): Promise<void> {
  const relay = await tcpServer(cleanup)
  const directory = memoryDirectory()
  const pa = persisted()
  const pb = persisted()
  const handled = new Map<number, number>()
  const setupA = counting(new Map())
  const setupB = counting(handled)
  let a: RunningNode = await startRelayOnlyNode(cleanup, relay, directory, pa, setupA)
  let b: RunningNode = await startRelayOnlyNode(cleanup, relay, directory, pb, setupB)
  const bId = b.node.nodeId
  const aId = a.node.nodeId
  // Sessions exist both ways before anything restarts.
  expect(await a.node.query(bId, 'echo', 'warm', { timeoutMs: QUERY_TIMEOUT_MS })).toBe('warm')
  expect(await b.node.query(aId, 'echo', 'warm', { timeoutMs: QUERY_TIMEOUT_MS })).toBe('warm')

  const stream = queryStream(() => a.node, bId, 'seq', INTERVAL_MS, QUERY_TIMEOUT_MS)
  await sleep(600)
  // A dead process sends nothing: the stream pauses while A is down (its in-flight queries are reported
  // failed by the dying instance), and keeps going through B's downtime (the relay queues for B).
  if (who !== 'B') stream.pause()
  // The survivor must notice that its session is stale and make a new one, through the relay only.
  const survivor = who === 'B' ? a.node : who === 'A' ? b.node : undefined
  const renewed: string[] = []
  survivor?.addEventListener('session:new', ({ detail }) => { renewed.push(detail.peerId) })
  await Promise.all([who !== 'A' ? b.crash() : undefined, who !== 'B' ? a.crash() : undefined])
  const crashedAfter = stream.sent()
  await sleep(DOWN_MS)
  ;[a, b] = await Promise.all([
    who !== 'B' ? startRelayOnlyNode(cleanup, relay, directory, pa, setupA) : a,
    who !== 'A' ? startRelayOnlyNode(cleanup, relay, directory, pb, setupB) : b
  ])
  const restartedAt = performance.now()
  stream.resume()
  await sleep(AFTER_RESTART_MS)
  const outcomes = await stream.stop()
  const sent = stream.sent()

  // Traffic resumed within the bound, and stayed up.
  const firstOk = outcomes.filter(o => o.ok && o.sentAt >= restartedAt).sort((x, y) => x.settledAt - y.settledAt)[0]
  expect(firstOk, 'a query sent after the restart was answered').toBeDefined()
  const recoveryMs = firstOk!.settledAt - restartedAt
  expect(recoveryMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS)
  const failedAfterRecovery = outcomes.filter((o: Outcome) => !o.ok && o.sentAt > firstOk!.settledAt)
  expect(failedAfterRecovery).toEqual([])

  // Exactly once or reported failed; nothing lost, nothing twice.
  const t = tally(sent, outcomes, handled)
  expect(t.lost).toBe(0)
  expect(t.duplicates).toBe(0)
  expect(t.answeredUnhandled).toBe(0)
  expect(t.deliveredOnce + t.reportedFailed).toBe(t.sent)
  expect(t.sent).toBeGreaterThan(crashedAfter)
  if (who === 'B') expect(t.reportedFailed).toBe(0) // the relay held B's messages: nothing needed to fail
  expect(outcomes.filter(o => o.ok && o.sentAt >= restartedAt).length).toBeGreaterThan(0)

  if (survivor !== undefined) expect(renewed).toContain(who === 'B' ? bId : aId)

  // Both directions work afterwards: B answers and initiates through the relay.
  expect(await a.node.query(bId, 'echo', 'after', { timeoutMs: QUERY_TIMEOUT_MS })).toBe('after')
  expect(await b.node.query(aId, 'echo', 'back', { timeoutMs: QUERY_TIMEOUT_MS })).toBe('back')
  expect(relay.stats().delivered).toBeGreaterThan(t.deliveredOnce)
}

describe('issue test 2: restarts through a real relay on 127.0.0.1', { timeout: 60_000 }, () => {
  test('B restarts with its persisted key while A keeps sending', async ({ onTestFinished }) => {
    await restartWhileStreaming(onTestFinished, 'B')
  })

  test('A restarts with its persisted key and keeps sending', async ({ onTestFinished }) => {
    await restartWhileStreaming(onTestFinished, 'A')
  })

  test('both restart at once', async ({ onTestFinished }) => {
    await restartWhileStreaming(onTestFinished, 'both')
  })

  test('A (reached directly on TCP, sending through the relay) restarts on a new port while B keeps querying it', async ({ onTestFinished }) => {
    // The demo's topology. B's node answers on the path A's last frame came by (here the relay): after A
    // dies B must fall back to A's contact record and find A's new port. The relay's sweep is slow here, so
    // nothing depends on it forgetting A's send-only registration in time.
    const relay = await tcpServer(onTestFinished, { sweepIntervalMs: 60_000 })
    const directory = memoryDirectory()
    const pa = persisted()
    const handled = new Map<number, number>()
    let a = await startListeningNode(onTestFinished, relay, directory, pa, counting(handled))
    const b = await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), counting(new Map()))
    const aId = a.node.nodeId
    // A speaks first, through the relay: B then answers and queries A on that path, never dialing A.
    expect(await a.node.query(b.node.nodeId, 'echo', 'relayed', { timeoutMs: QUERY_TIMEOUT_MS })).toBe('relayed')
    expect(await b.node.query(aId, 'echo', 'back', { timeoutMs: QUERY_TIMEOUT_MS })).toBe('back')
    expect(relay.stats().accepted).toBeGreaterThanOrEqual(4)
    const oldPort = a.node.contactRecord()!.endpoints.find(e => e.kind === 'tcp')
    const stream = queryStream(() => b.node, aId, 'seq', INTERVAL_MS, QUERY_TIMEOUT_MS)
    await sleep(600)
    await a.crash()
    await sleep(DOWN_MS)
    a = await startListeningNode(onTestFinished, relay, directory, pa, counting(handled))
    expect(a.node.contactRecord()!.endpoints.find(e => e.kind === 'tcp')).not.toEqual(oldPort)
    const restartedAt = performance.now()
    await sleep(AFTER_RESTART_MS)
    const outcomes = await stream.stop()
    const firstOk = outcomes.filter(o => o.ok && o.sentAt >= restartedAt).sort((x, y) => x.settledAt - y.settledAt)[0]
    expect(firstOk, 'a query sent after the restart was answered').toBeDefined()
    expect(firstOk!.settledAt - restartedAt).toBeLessThanOrEqual(RECOVERY_BOUND_MS)
    expect(outcomes.filter(o => !o.ok && o.sentAt > firstOk!.settledAt)).toEqual([])
    const t = tally(stream.sent(), outcomes, handled)
    expect(t).toMatchObject({ lost: 0, duplicates: 0, answeredUnhandled: 0 })
    expect(t.deliveredOnce + t.reportedFailed).toBe(t.sent)
  })

  test('crossover: both initiate at the same instant through the relay, fresh and after both restarted', async ({ onTestFinished }) => {
    const relay = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const pa = persisted()
    const pb = persisted()
    const atA = new Map<number, number>()
    const atB = new Map<number, number>()
    const N = 20
    const crossover = async (a: EgtpNode, b: EgtpNode, base: number): Promise<void> => {
      const nums = Array.from({ length: N }, (_, i) => base + i)
      // Same instant: both sides' first queries (and so both initiations) leave in the same tick.
      const [toB, toA] = await Promise.all([
        Promise.all(nums.map(async n => await a.query(b.nodeId, 'seq', n, { timeoutMs: QUERY_TIMEOUT_MS }))),
        Promise.all(nums.map(async n => await b.query(a.nodeId, 'seq', n, { timeoutMs: QUERY_TIMEOUT_MS })))
      ])
      expect(toB).toEqual(nums)
      expect(toA).toEqual(nums)
      for (const n of nums) {
        expect(atA.get(n)).toBe(1)
        expect(atB.get(n)).toBe(1)
      }
    }
    let a = await startRelayOnlyNode(onTestFinished, relay, directory, pa, counting(atA))
    let b = await startRelayOnlyNode(onTestFinished, relay, directory, pb, counting(atB))
    await crossover(a.node, b.node, 0)

    await Promise.all([a.crash(), b.crash()])
    ;[a, b] = await Promise.all([
      startRelayOnlyNode(onTestFinished, relay, directory, pa, counting(atA)),
      startRelayOnlyNode(onTestFinished, relay, directory, pb, counting(atB))
    ])
    const restartedAt = performance.now()
    await crossover(a.node, b.node, 1000)
    expect(performance.now() - restartedAt).toBeLessThanOrEqual(RECOVERY_BOUND_MS)
    expect([...atA.values(), ...atB.values()].every(n => n === 1)).toBe(true)
    expect(relay.stats().delivered).toBeGreaterThan(0) // frames carry batches of messages
  })
})
