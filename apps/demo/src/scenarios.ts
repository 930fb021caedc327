// The issue-10 real-process restart scenarios (`--scenario …`): a relay with a persistent queue, node A
// (directly reachable) and node B (relay-only, persisted key and data directory). A and B exchange queries
// through the relay; then one or both are killed with SIGKILL and restarted while the other keeps sending.
// Checks: lost = 0, no duplicate delivery, recovery within the bound.
import { fork, spawn } from 'node:child_process'
import { join } from 'node:path'
import { decodeContactRecord } from '@egtp/identity'
import { APPS } from './context.ts'
import type { DemoContext } from './context.ts'
import { NodeProcess, readReadyLine } from './processes.ts'
import { sleep } from './timeline.ts'
import type { Timeline } from './timeline.ts'

/** Recovery must happen within this (the stated bound of the sessions and node; see the README). */
const RECOVERY_BOUND_MS = 10_000
const QUERY_TIMEOUT_MS = 8_000
const STREAM_INTERVAL_MS = 40
const CLOCK_WINDOW_MS = 60_000

export type Scenario = 'b-restart' | 'a-restart' | 'both-restart' | 'clock-window-restart' | 'clock-skew'
export const SCENARIOS: readonly Scenario[] = ['b-restart', 'a-restart', 'both-restart', 'clock-window-restart', 'clock-skew']

export async function runScenario (scenario: Scenario, ctx: DemoContext, tl: Timeline): Promise<void> {
  /**
   * The paranoid scenarios (issue 10): A refuses initiations outside a 60 s clock window; B sends first, after
   * a restart with its data directory (clock-window-restart) or with its clock 2 minutes ahead (clock-skew).
   */
  const paranoid = scenario === 'clock-window-restart' || scenario === 'clock-skew'
  const B_CLOCK_OFFSET_MS = scenario === 'clock-skew' ? Number(process.env.EGTP_DEMO_SKEW_MS ?? 120_000) : 0
  const { work, childEnv } = ctx
  const say = (text: string): void => { tl.say(text) }
  const check = (ok: boolean, text: string): void => { tl.check(ok, text) }
  const nodeMain = APPS.node
  const relayMain = APPS.relay

  tl.begin(scenario, `restart scenario in ${work}`)

  // 1. The relay.
  const relay = spawn(process.execPath, [relayMain, '--listen', '127.0.0.1:0', '--data-dir', join(work, 'relay')], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv })
  ctx.track(relay)
  const relayReady = await readReadyLine(relay, 10_000) as { nodeId: string, host: string, port: number }
  const relayArg = `${relayReady.nodeId}@${relayReady.host}:${relayReady.port}`
  say(`relay ${relayReady.nodeId.slice(0, 8)} listening on ${relayReady.host}:${relayReady.port} (persistent queue)`)

  // 2. B, reachable only through the relay, with a persisted key and state.
  const bArgs = ['--relay', relayArg, '--key-file', join(work, 'b', 'identity.json'), '--data-dir', join(work, 'b')]
  const bClock = B_CLOCK_OFFSET_MS === 0
    ? {}
    : { execArgv: ['--import', APPS.skewedClock], env: { ...childEnv, EGTP_CLOCK_OFFSET_MS: String(B_CLOCK_OFFSET_MS) } }
  const startB = async (): Promise<NodeProcess> => {
    const b = new NodeProcess(fork(nodeMain, bArgs, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: childEnv, ...bClock }))
    ctx.track(b.child)
    await b.ready(10_000)
    await b.waitForRecord((r) => decodeContactRecord(Buffer.from(r, 'base64')).endpoints.some(e => e.kind === 'relay'), 10_000)
    return b
  }
  let b = await startB()
  say(`node B ${b.nodeId.slice(0, 8)} registered with the relay (no listening socket)${B_CLOCK_OFFSET_MS !== 0 ? `, its clock ${B_CLOCK_OFFSET_MS / 1000} s ahead` : ''}`)

  // 3. A, directly reachable, also with a persisted key.
  const aArgs = ['--listen', '127.0.0.1:0', '--key-file', join(work, 'a', 'identity.json'), '--data-dir', join(work, 'a'),
    ...(paranoid ? ['--clock-window-ms', String(CLOCK_WINDOW_MS)] : [])]
  const startA = async (): Promise<NodeProcess> => {
    const node = new NodeProcess(fork(nodeMain, aArgs, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: childEnv }))
    ctx.track(node.child)
    await node.ready(10_000)
    return node
  }
  let a = await startA()
  say(`node A ${a.nodeId.slice(0, 8)} listening on TCP${paranoid ? `, paranoid: refuses initiations outside a ${CLOCK_WINDOW_MS / 1000} s clock window` : ''}`)
  // The demo plays the metatracker: each node learns the other's signed contact record.
  a.addContact(b.record)
  b.addContact(a.record)

  if (paranoid) {
    // B speaks first: its initiation reaches the paranoid A before A has any session with it.
    const first = await Promise.all(Array.from({ length: 3 }, async (_, i) => await b.query(a.nodeId, 'echo', i, QUERY_TIMEOUT_MS)))
    check(first.every((r, i) => r.ok && r.value === i), `B → A first: ${first.filter(r => r.ok).length}/3 answered${first.some(r => !r.ok) ? ` (${first.map(r => r.code).join(', ')})` : ''}`)
  }
  // 4. Queries both ways at once: both sides initiate a session at the same instant (a crossover).
  const [warm, back] = await Promise.all([
    Promise.all(Array.from({ length: 10 }, async (_, i) => await a.query(b.nodeId, 'echo', `hello ${i}`, QUERY_TIMEOUT_MS))),
    Promise.all(Array.from({ length: 10 }, async (_, i) => await b.query(a.nodeId, 'echo', i, QUERY_TIMEOUT_MS)))
  ])
  check(warm.every((r, i) => r.ok && r.value === `hello ${i}`), `A → relay → B: ${warm.filter(r => r.ok).length}/10 echo queries answered`)
  check(back.every((r, i) => r.ok && r.value === i), `B → A (sent at the same time, crossing handshakes): ${back.filter(r => r.ok).length}/10 answered`)

  // 5. A stream of numbered queries; the scenario kills and restarts nodes in the middle.
  //    b-restart: A → B, B restarts (the 2004 deadlock: B is reached only through the relay).
  //    a-restart: B → A, A restarts on a new port (B must learn A's new record and renegotiate).
  //    both-restart: A → B, both restart at once.
  //    clock-window-restart, clock-skew: B → A, B restarts with its data dir and sends first; A is paranoid.
  const toA = scenario === 'a-restart' || paranoid
  const sender = toA ? (): NodeProcess => b : (): NodeProcess => a
  const receiverName = toA ? 'A' : 'B'
  const receiverId = toA ? a.nodeId : b.nodeId
  const received = new Map<number, number>()
  const listen = (node: NodeProcess): void => {
    node.onReceived((payload) => { const n = payload as number; received.set(n, (received.get(n) ?? 0) + 1) })
  }
  listen(toA ? a : b)
  const results: Array<Promise<{ seq: number, sentAt: number, ok: boolean, code?: string, at: number }>> = []
  let seq = 0
  let streaming = true
  let paused = false
  const stream = (async () => {
    while (streaming) {
      if (!paused) {
        const n = seq++
        const sentAt = performance.now()
        results.push(sender().query(receiverId, 'seq', n, QUERY_TIMEOUT_MS).then(r => ({ seq: n, sentAt, ok: r.ok, ...(r.code !== undefined ? { code: r.code } : {}), at: performance.now() })))
      }
      await sleep(STREAM_INTERVAL_MS)
    }
  })()
  say(`${toA ? 'B' : 'A'} streams numbered queries to ${receiverName} every ${STREAM_INTERVAL_MS} ms`)
  await sleep(1_500)
  const killedAt = performance.now()
  if (scenario === 'both-restart' || paranoid) {
    paused = true
    // The sender's own in-flight queries die with it: wait for their answers first, so lost stays meaningful.
    await Promise.all(results)
    if (paranoid) {
      b.child.kill('SIGKILL')
      say(`B killed with SIGKILL after query #${seq - 1} was answered (its sessions are gone; its timestamp lease is on disk)`)
    } else {
      a.child.kill('SIGKILL')
      b.child.kill('SIGKILL')
      say(`A and B killed with SIGKILL after query #${seq - 1} (all their sessions are gone)`)
    }
  } else if (scenario === 'a-restart') {
    a.child.kill('SIGKILL')
    say(`A killed with SIGKILL after query #${seq - 1} was sent`)
  } else {
    b.child.kill('SIGKILL')
    say(`B killed with SIGKILL after query #${seq - 1} was sent (its sessions and in-memory state are gone)`)
  }
  await sleep(1_000)
  if (scenario !== 'a-restart') {
    b = await startB()
    listen(b)
    // B sends first: the demo, as the metatracker would, hands the restarted B A's record.
    if (paranoid) b.addContact(a.record)
  }
  if (scenario === 'a-restart' || scenario === 'both-restart') {
    a = await startA()
    if (scenario === 'a-restart') listen(a)
    // A listens on a new port: the demo (as the metatracker would) hands its new record to B.
    b.addContact(a.record)
    a.addContact(b.record)
  }
  const restartedAt = performance.now()
  paused = false
  const restartedName = scenario === 'both-restart' ? 'A and B' : paranoid ? 'B' : receiverName
  say(`${restartedName} restarted (same key, same data dir) ${((restartedAt - killedAt) / 1000).toFixed(2)} s after the kill${paranoid ? '; B sends first' : ''}`)
  await sleep(3_000)
  streaming = false
  await stream
  const settled = await Promise.all(results)
  const firstAfter = settled.filter(r => r.ok && r.sentAt >= restartedAt).sort((x, y) => x.at - y.at)[0]
  const recoveryMs = firstAfter === undefined ? Number.POSITIVE_INFINITY : firstAfter.at - restartedAt
  say(`stream stopped; recovery: query #${firstAfter?.seq ?? '-'}, the first sent after the restart, was answered ${Number.isFinite(recoveryMs) ? (recoveryMs / 1000).toFixed(3) : '∞'} s after it`)

  // 6. After recovery everything flows again.
  const [after, afterBack] = await Promise.all([
    Promise.all(Array.from({ length: 20 }, async (_, i) => await a.query(b.nodeId, 'echo', i, QUERY_TIMEOUT_MS))),
    Promise.all(Array.from({ length: 20 }, async (_, i) => await b.query(a.nodeId, 'echo', i, QUERY_TIMEOUT_MS)))
  ])
  check(after.every(r => r.ok) && afterBack.every(r => r.ok), `after recovery: A → B ${after.filter(r => r.ok).length}/20, B → A ${afterBack.filter(r => r.ok).length}/20 echo queries answered`)

  const delivered = settled.filter(r => r.ok).length
  const failedCodes = new Map<string, number>()
  for (const r of settled) if (!r.ok) failedCodes.set(r.code ?? '?', (failedCodes.get(r.code ?? '?') ?? 0) + 1)
  const failed = settled.length - delivered
  const lost = seq - settled.length
  const duplicates = [...received.values()].filter(c => c > 1).length
  const answeredNotReceived = settled.filter(r => r.ok && !received.has(r.seq)).length
  say(`stream: ${seq} sent, ${delivered} delivered, ${failed} reported failed${failed > 0 ? ` (${[...failedCodes].map(([c, n]) => `${c} ×${n}`).join(', ')})` : ''}, ${lost} lost`)
  check(lost === 0, 'lost = 0: every query was answered or reported failed')
  check(duplicates === 0, `no message was handled twice (${received.size} distinct handled by ${receiverName})`)
  check(answeredNotReceived === 0, `every answered query was handled by ${receiverName}`)
  check(recoveryMs <= RECOVERY_BOUND_MS, `recovery ${Number.isFinite(recoveryMs) ? `${Math.round(recoveryMs)} ms` : 'never'} within the ${RECOVERY_BOUND_MS} ms bound`)

  await Promise.all([a.stop(), b.stop()])
  relay.kill('SIGTERM')
}
