// One soak run: build the world, send traffic from every node while the seeded faults play, stop the faults,
// require every ordered pair of nodes to exchange a message within the recovery bound, drain, then settle
// the ledger against what each node's handlers recorded on disk.
import { existsSync, readFileSync } from 'node:fs'
import { Ledger, ledgerSelfCheck } from './ledger.ts'
import type { Verdict } from './ledger.ts'
import { SeededRandom } from './random.ts'
import { buildSchedule, describeFault } from './schedule.ts'
import type { Fault, ScheduledFault } from './schedule.ts'
import { APP_TEXT_TYPE, World } from './world.ts'

export interface SoakConfig {
  seed: number
  /** Length of the traffic + fault phase (ms). */
  durationMs: number
  warmupMs: number
  meanFaultGapMs: number
  /** One message from some node every this many ms. */
  trafficIntervalMs: number
  messageTimeoutMs: number
  /** After faults stop, every ordered pair must exchange a query within this (ms). */
  recoveryBoundMs: number
  /** Largest resident set any process may reach (bytes). */
  maxRssBytes: number
  directNodes: number
  natNodes: number
  /** Nodes running egtp-node. */
  appNodes: readonly number[]
  workDir: string
  log: (line: string) => void
}

export interface SoakReport {
  config: SoakConfig
  faults: ScheduledFault[]
  verdict: Verdict
  selfCheck: string | undefined
  recovery: { worstMs: number, stuck: string[] }
  peakRss: Record<string, number>
  problems: string[]
  /** Messages handled after a message sent later on the same (sender, receiver) pair. */
  overtaken: number
}

/** The handler types of the soak's node (src/soak-node.ts). */
const SOAK_QUERY = 'soak.q'
const SOAK_MESSAGE = 'soak.m'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export async function runSoak (cfg: SoakConfig, world: World): Promise<SoakReport> {
  const log = cfg.log
  const ledger = new Ledger()
  const rnd = new SeededRandom(cfg.seed ^ 0x5eed)
  let msgCount = 0
  const inflight = new Set<Promise<unknown>>()
  const peakRss: Record<string, number> = {}
  const problems: string[] = []

  log(`building the network (prefix ${world.net.prefix}) and starting 2 relays, 2 trackers, a bootpage, ${cfg.directNodes + cfg.natNodes} nodes, of which egtp-node: ${cfg.appNodes.map(i => `n${i}`).join(', ')}`)
  await world.build()
  const nodeIds = world.nodes.map(n => n.nodeId)
  const schedule = buildSchedule({
    seed: cfg.seed,
    durationMs: cfg.durationMs,
    warmupMs: cfg.warmupMs,
    meanGapMs: cfg.meanFaultGapMs,
    nodes: world.nodes.length,
    directNodes: world.nodes.filter(n => n.direct).map(n => n.index),
    relays: 2,
    trackers: 2,
    publicHosts: world.publicHosts
  })

  /**
   * One message with a unique ID, recorded in the ledger. To an egtp-node it is always a one-way `text`
   * message (egtp-node prints those as they reach its handler; its `echo` queries leave no trace to count).
   */
  function sendOne (from: number, to: number, kind: 'query' | 'oneway', prefix = 'm', timeoutMs = cfg.messageTimeoutMs): Promise<boolean> {
    const id = `${prefix}${cfg.seed}-${++msgCount}`
    const proc = world.nodes[from]!.proc!
    const toApp = world.nodes[to]!.app
    if (toApp) kind = 'oneway'
    const type = toApp ? APP_TEXT_TYPE : kind === 'query' ? SOAK_QUERY : SOAK_MESSAGE
    const payload = toApp ? id : { m: id }
    ledger.sent({ id, from, to, kind, sentAt: Date.now() })
    const work = proc.call({ op: kind === 'query' ? 'query' : 'send', peer: nodeIds[to], type, payload, timeoutMs }).then((r) => {
      if (r.ok) {
        ledger.outcome(id, 'ok')
        if (kind === 'query' && r.value !== id) problems.push(`query ${id} ${from}→${to} was answered ${JSON.stringify(r.value)}`)
      } else if (r.code === 'KILLED') ledger.outcome(id, 'abandoned', 'KILLED')
      else if (r.code !== 'EXITED') ledger.outcome(id, 'failed', r.code)
      // EXITED: the sender stopped gracefully without telling: no outcome, the verdict names it.
      return r.ok
    })
    inflight.add(work)
    void work.finally(() => inflight.delete(work))
    return work
  }

  const sampler = setInterval(() => {
    for (const p of world.processes()) {
      const rss = p.rssBytes()
      const role = p.label.replace(/\d+$/, '')
      if (rss !== undefined && rss > (peakRss[role] ?? 0)) peakRss[role] = rss
      if (rss !== undefined && rss > cfg.maxRssBytes) problems.push(`memory: ${p.label} (pid ${p.pid}) reached ${(rss / 2 ** 20).toFixed(0)} MiB`)
    }
  }, 2_000)

  // Traffic: a seeded choice of sender, peer and kind every interval, from nodes that are up.
  let trafficOn = true
  const traffic = (async () => {
    while (trafficOn) {
      const from = rnd.int(0, world.nodes.length - 1)
      let to = rnd.int(0, world.nodes.length - 2)
      if (to >= from) to++
      const kind = rnd.next() < 0.5 ? 'query' : 'oneway'
      if (world.isUp(from)) void sendOne(from, to, kind)
      await sleep(cfg.trafficIntervalMs)
    }
  })()

  // Faults: each at its offset; those that last clean up after themselves.
  const start = Date.now()
  const running = new Set<Promise<void>>()
  const busy = new Set<string>()
  let faultsPlayed = 0
  for (const sf of schedule) {
    await sleep(Math.max(0, start + sf.atMs - Date.now()))
    const keys = faultKeys(sf.fault)
    if (keys.some(k => busy.has(k))) {
      log(`  +${(sf.atMs / 1000).toFixed(1)}s skipped (target busy): ${describeFault(sf.fault)}`)
      continue
    }
    for (const k of keys) busy.add(k)
    faultsPlayed++
    log(`  +${(sf.atMs / 1000).toFixed(1)}s fault: ${describeFault(sf.fault)}`)
    const p = playFault(sf.fault, world, sendOne).catch((err: unknown) => {
      problems.push(`fault "${describeFault(sf.fault)}" failed: ${(err as Error).message}`)
    }).finally(() => { for (const k of keys) busy.delete(k) })
    running.add(p)
    void p.finally(() => running.delete(p))
  }
  await sleep(Math.max(0, start + cfg.durationMs - Date.now()))
  trafficOn = false
  await traffic
  await Promise.all(running)

  // Recovery: nothing is broken any more; every ordered pair must get a query through within the bound.
  world.net.clearAll()
  for (const n of world.nodes) if (!world.isUp(n.index)) await world.startNode(n.index)
  log(`faults stopped (${faultsPlayed} played); checking that all ${world.nodes.length * (world.nodes.length - 1)} ordered pairs recover within ${cfg.recoveryBoundMs} ms`)
  const healedAt = Date.now()
  let worstMs = 0
  const stuck: string[] = []
  await Promise.all(world.nodes.flatMap(a => world.nodes.filter(b => b !== a).map(async (b) => {
    for (;;) {
      const attemptTimeout = Math.min(5_000, Math.max(1, healedAt + cfg.recoveryBoundMs - Date.now()))
      const ok = await sendOne(a.index, b.index, 'query', 'r', attemptTimeout)
      const elapsed = Date.now() - healedAt
      if (ok) { worstMs = Math.max(worstMs, elapsed); return }
      if (elapsed >= cfg.recoveryBoundMs) { stuck.push(`${a.index}→${b.index}`); return }
      await sleep(500)
    }
  })))

  // Drain: every outcome in (each message has a deadline), then stop everything gracefully.
  const drainUntil = Date.now() + cfg.messageTimeoutMs + 10_000
  while (inflight.size > 0 && Date.now() < drainUntil) await sleep(200)
  clearInterval(sampler)
  await world.stopAll()

  // Every handler invocation, per receiving node in the order they ran: the soak's nodes wrote them to their
  // handled.log, the egtp-node processes printed them.
  const handledBy = new Map<number, Array<{ id: string, peerId: string }>>()
  for (const n of world.nodes) {
    const file = `${n.dataDir}/handled.log`
    if (n.app || !existsSync(file)) continue
    handledBy.set(n.index, readFileSync(file, 'utf8').split('\n').filter(l => l !== '').map((l) => {
      const [id, peerId] = l.split(' ') as [string, string]
      return { id, peerId }
    }))
  }
  for (const h of world.appHandled) {
    const list = handledBy.get(h.node) ?? []
    list.push(h)
    handledBy.set(h.node, list)
  }
  // Ordering is not promised; count how often a message was handled after a later one of the same pair.
  let overtaken = 0
  for (const [node, list] of handledBy) {
    const latest = new Map<string, number>()
    for (const { id, peerId } of list) {
      ledger.handled(id, node, peerId)
      const seq = Number(id.slice(id.indexOf('-') + 1))
      if (seq < (latest.get(peerId) ?? -1)) overtaken++
      else latest.set(peerId, seq)
    }
  }
  const verdict = ledger.verdict(nodeIds)
  return { config: cfg, faults: schedule.slice(0, faultsPlayed), verdict, selfCheck: ledgerSelfCheck(ledger, nodeIds), recovery: { worstMs, stuck }, peakRss, problems, overtaken }
}

/** What a fault occupies: two faults on one target never overlap (the schedule stays replayable). */
function faultKeys (f: Fault): string[] {
  switch (f.kind) {
    case 'kill9': case 'restart': case 'skew': case 'move': return [`node${f.node}`]
    case 'crossover': return [`node${f.a}`, `node${f.b}`]
    case 'relay-restart': return [`relay${f.relay}`]
    case 'latency': return ['proxy']
    case 'tracker-restart': return [`tracker${f.tracker}`]
    case 'cut': case 'loss': return [`net:${f.host}`]
    case 'partition': return ['net:partition']
  }
}

async function playFault (f: Fault, world: World, sendOne: (from: number, to: number, kind: 'query' | 'oneway', prefix?: string) => Promise<boolean>): Promise<void> {
  switch (f.kind) {
    case 'kill9':
      world.killNode(f.node)
      await sleep(f.downMs)
      await world.startNode(f.node)
      return
    case 'restart':
      await world.restartNode(f.node)
      return
    case 'relay-restart':
      await world.restartService('relay', f.relay, f.hard)
      return
    case 'tracker-restart':
      await world.restartService('tracker', f.tracker, f.hard)
      return
    case 'cut': {
      const id = world.net.cut(f.host)
      await sleep(f.ms)
      world.net.clear(id)
      return
    }
    case 'loss': {
      const id = world.net.loss(f.host, f.probability)
      await sleep(f.ms)
      world.net.clear(id)
      return
    }
    case 'partition': {
      const id = world.net.partition(f.side, world.publicHosts)
      await sleep(f.ms)
      world.net.clear(id)
      return
    }
    case 'latency':
      await world.setRelayDelay([f.minMs, f.maxMs])
      await sleep(f.ms)
      await world.setRelayDelay()
      return
    case 'skew':
      await world.restartNode(f.node, f.offsetMs)
      await sleep(f.ms)
      await world.restartNode(f.node)
      return
    case 'crossover': {
      await Promise.all([world.restartNode(f.a), world.restartNode(f.b)])
      const burst: Array<Promise<boolean>> = []
      for (let i = 0; i < f.burst; i++) {
        burst.push(sendOne(f.a, f.b, i % 2 === 0 ? 'query' : 'oneway', 'x'), sendOne(f.b, f.a, i % 2 === 0 ? 'query' : 'oneway', 'x'))
      }
      await Promise.all(burst)
      return
    }
    case 'move':
      await world.moveNode(f.node)
  }
}
