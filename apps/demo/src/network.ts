// The full demo network (the default `pnpm demo`), on 127.0.0.1 with real child processes: a signed bootpage
// served over HTTP, two metatrackers, two relays, node A (directly reachable), node B (listening nowhere:
// reached only through a relay, as behind NAT) and node C. Every node and relay starts from the bootpage URL
// and its key alone. Steps: bootstrap; publish and lookup (A and C, direct); A and B through a relay; B killed
// with SIGKILL and restarted while A keeps sending; a relay killed (B moves to the other); a tracker killed
// (lookups still answered).
import { fork, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { decodeContactRecord } from '@egtp/identity'
import { APPS } from './context.ts'
import type { DemoContext } from './context.ts'
import { Narrator } from './narrate.ts'
import { NodeProcess, alive, readReadyLine, runTool } from './processes.ts'
import { restartStep } from './restart-step.ts'
import { within } from './timeline.ts'
import type { Timeline } from './timeline.ts'

/** How long a process may take to print its ready line on a loaded machine. */
export const START_TIMEOUT_MS = 20_000
/** How long the first lookup of a peer may keep failing while its record is still being published. */
export const FIRST_CONTACT_MS = 15_000
/** How long B may take to show a relay in its record (relays found through the trackers). */
export const RELAY_FOUND_MS = 20_000
export const QUERY_TIMEOUT_MS = 8_000

export interface Service { name: string, child: ChildProcess, nodeId: string, host: string, port: number, record?: string }

const endpointsOf = (record: string): Array<{ kind: string, host: string, port: number, relay?: string }> =>
  decodeContactRecord(Buffer.from(record, 'base64')).endpoints as Array<{ kind: string, host: string, port: number, relay?: string }>
export const relaysOf = (record: string): string[] => endpointsOf(record).filter(e => e.kind === 'relay').map(e => e.relay!)

/** Query until the first answer (the peer's record may still be on its way to the trackers), then `count` more. */
async function firstContact (from: NodeProcess, to: string, count: number): Promise<{ attempts: number, answered: number, ms: number, code?: string }> {
  const t0 = performance.now()
  let attempts = 0
  let last
  do {
    attempts++
    last = await from.query(to, 'echo', 'hello', QUERY_TIMEOUT_MS)
    // Lookups are rate-limited per peer (1 s by default): asking sooner would only hit that limit.
    if (!last.ok) await new Promise(resolve => setTimeout(resolve, 1_100))
  } while (!last.ok && performance.now() - t0 < FIRST_CONTACT_MS)
  if (!last.ok) return { attempts, answered: 0, ms: performance.now() - t0, ...(last.code !== undefined ? { code: last.code } : {}) }
  const ms = performance.now() - t0
  const rest = await Promise.all(Array.from({ length: count }, async (_, i) => await from.query(to, 'echo', i, QUERY_TIMEOUT_MS)))
  return { attempts, answered: rest.filter((r, i) => r.ok && r.value === i).length, ms }
}

export async function runNetwork (ctx: DemoContext, tl: Timeline, keep: boolean): Promise<void> {
  const { work, childEnv: env } = ctx
  const names = new Map<string, string>()
  const nameOf = (id: unknown): string => typeof id === 'string' ? names.get(id) ?? id.slice(0, 8) : '?'
  // Children stamp events with their epoch time; performance.timeOrigin + now() is the same clock here.
  const narrator = new Narrator(tl, nameOf, (epochMs) => epochMs - performance.timeOrigin)

  // ── bootstrap ────────────────────────────────────────────────────────────────────────────────────────────
  tl.begin('bootstrap', 'a signed bootpage over HTTP; every node starts from its URL and key alone')
  const signerFile = join(work, 'bootpage-signer.key')
  const signer = JSON.parse(await runTool(APPS.bootpage, ['keygen', '--key-file', signerFile], env)) as { nodeId: string, publicKey: string }
  tl.say(`bootpage signing key ${signer.nodeId} (egtp-bootpage keygen)`)

  const startService = async (name: string, main: string, args: string[]): Promise<Service> => {
    const child = ctx.track(spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }), name)
    const r = await within(START_TIMEOUT_MS, `${name} start`, readReadyLine(child, START_TIMEOUT_MS)).catch((err: unknown) => {
      throw new Error(`${name} (egtp-${main.split('/').slice(-3, -2)[0] ?? main} ${args.join(' ')}): ${(err as Error).message}`)
    })
    names.set(r.nodeId as string, name)
    return { name, child, nodeId: r.nodeId as string, host: r.host as string, port: r.port as number, ...(typeof r.record === 'string' ? { record: r.record } : {}) }
  }
  const trackers = await Promise.all([1, 2].map(async i => await startService(`T${i}`, APPS.metatracker, ['--listen', '127.0.0.1:0'])))
  for (const t of trackers) tl.say(`metatracker ${t.name} ${t.nodeId.slice(0, 8)} on ${t.host}:${t.port} (egtp-metatracker; its ready line carries its signed record)`)

  const pageFile = join(work, 'bootpage.json')
  const recordFiles = trackers.map((t, i) => {
    const file = join(work, `tracker-${i + 1}.b64`)
    writeFileSync(file, `${t.record ?? ''}\n`)
    return file
  })
  await runTool(APPS.bootpage, ['create', '--key-file', signerFile, ...recordFiles.flatMap(f => ['--record', f]), '--expires', '1h', '--out', pageFile], env)
  let fetches = 0
  const http: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/bootpage.json') {
      fetches++
      res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(pageFile))
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>(resolve => { http.listen(0, '127.0.0.1', resolve) })
  ctx.onCleanup(() => { http.close(); http.closeAllConnections() })
  const port = (http.address() as { port: number }).port
  const pageUrl = `http://127.0.0.1:${port}/bootpage.json`
  const boot = ['--bootpage', pageUrl, '--bootpage-key', signer.nodeId]
  tl.say(`bootpage signed (egtp-bootpage create: trackers T1 and T2, expires in 1 h), served at ${pageUrl}`)

  const relays = await Promise.all([1, 2].map(async i => await startService(`R${i}`, APPS.relay, ['--listen', '127.0.0.1:0', '--state-dir', join(work, `relay-${i}`), ...boot])))
  for (const r of relays) tl.say(`relay ${r.name} ${r.nodeId.slice(0, 8)} on ${r.host}:${r.port} (persistent queue; publishes its record, service relay, through the trackers)`)

  const nodeArgs: Record<string, string[]> = {
    A: ['run', '--listen', '127.0.0.1:0', '--state-dir', join(work, 'a'), ...boot],
    C: ['run', '--listen', '127.0.0.1:0', '--state-dir', join(work, 'c'), ...boot],
    B: ['run', '--relay', 'auto', '--state-dir', join(work, 'b'), ...boot]
  }
  // What a node prints after its ready line: `HH:MM:SS FROM TEXT` for each text message (--keep shows them).
  const shown = (name: string, line: string): string => {
    const m = /^\d\d:\d\d:\d\d (\S+) (.*)$/.exec(line)
    return m === null ? `${name}: ${line}` : `${name} got from ${names.get(m[1]!) ?? m[1]!}: ${m[2]!}`
  }
  const lives = new Map<string, number>()
  const startNode = async (name: string, prepare?: (node: NodeProcess) => void): Promise<NodeProcess> => {
    const node = new NodeProcess(ctx.track(fork(APPS.node, nodeArgs[name]!, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env }), lives.has(name) ? `${name} (life ${lives.get(name)! + 1})` : name))
    lives.set(name, (lives.get(name) ?? 0) + 1)
    prepare?.(node)
    await within(START_TIMEOUT_MS, `node ${name} start`, node.ready(START_TIMEOUT_MS, (line) => { if (keep) tl.say(shown(name, line)) })).catch((err: unknown) => {
      throw new Error(`node ${name} (egtp-node ${nodeArgs[name]!.join(' ')}): ${(err as Error).message}`)
    })
    names.set(node.nodeId, name)
    await node.onEvent(narrator.listener(name))
    return node
  }
  const [a, c] = await Promise.all([startNode('A'), startNode('C')])
  let b = await startNode('B')
  for (const [name, n] of [['A', a], ['C', c]] as const) tl.say(`node ${name} ${n.nodeId.slice(0, 8)}: ${endpointsOf(n.record).map(e => `${e.kind} ${e.host}:${e.port}`).join(', ')}`)
  tl.say(`node B ${b.nodeId.slice(0, 8)}: no listening socket (--relay auto); looking for relays through the trackers`)
  const relayIds = new Set(relays.map(r => r.nodeId))
  try {
    await b.waitForRecord(r => relaysOf(r).some(id => relayIds.has(id)), RELAY_FOUND_MS)
  } catch { /* checked below */ }
  tl.check(relaysOf(b.record).some(id => relayIds.has(id)), `B found relays through the trackers and advertises ${relaysOf(b.record).map(nameOf).join(' and ') || 'none'} in its signed record`)
  type TrackerStatus = { nodeId: string, known: boolean, requests: number, failures: number }
  const trackersOf = async (n: NodeProcess): Promise<TrackerStatus[]> => ((await n.status()).trackers ?? []) as TrackerStatus[]
  const knowsBoth = await Promise.all([a, b, c].map(async n => (await trackersOf(n)).filter(t => t.known && trackers.some(x => x.nodeId === t.nodeId)).length === 2))
  tl.check(knowsBoth.every(Boolean), `A, B and C each know T1 and T2 from the verified page (their status)${knowsBoth.every(Boolean) ? '' : `: ${knowsBoth.map((k, i) => `${'ABC'[i]!} ${k ? 'yes' : 'no'}`).join(', ')}`}`)
  tl.check(fetches >= 5, `the bootpage was fetched ${fetches} times (2 relays and 3 nodes started from it; none was handed a record)`)

  // ── publish and lookup; A and C direct ──────────────────────────────────────────────────────────────────
  tl.begin('publish and lookup', 'A knows only C\'s node ID: it looks C up through the trackers, then talks to it directly')
  const cConnects: string[] = []
  await c.onEvent((e) => { if (e.name === 'peer:connect' && e.detail.peerId === a.nodeId) cConnects.push(String(e.detail.path)) })
  const ac = await firstContact(a, c.nodeId, 10)
  tl.check(ac.answered === 10, `A → C: found by lookup and answered after ${Math.round(ac.ms)} ms (${ac.attempts} attempt${ac.attempts === 1 ? '' : 's'}${ac.code !== undefined ? `, last ${ac.code}` : ''}), then ${ac.answered}/10 echo queries`)
  tl.check(cConnects.length > 0 && cConnects.every(p => p === 'tcp'), `A and C direct: C's record has only a TCP endpoint and A's frames reached C over ${cConnects.join(', ') || 'nothing'}`)
  const ca = await firstContact(c, a.nodeId, 10)
  tl.check(ca.answered === 10, `C → A: ${ca.answered}/10 echo queries answered`)

  // ── A and B through a relay ────────────────────────────────────────────────────────────────────────────
  tl.begin('A and B through a relay', 'B listens nowhere: A looks B up and reaches it through a relay in B\'s record')
  const bConnects: string[] = []
  const bConnectListener = (e: { name: string, detail: Record<string, unknown> }): void => { if (e.name === 'peer:connect' && e.detail.peerId === a.nodeId) bConnects.push(String(e.detail.path)) }
  await b.onEvent(bConnectListener)
  const ab = await firstContact(a, b.nodeId, 10)
  tl.check(ab.answered === 10, `A → ${relaysOf(b.record).map(nameOf).join('/')} → B: found by lookup after ${Math.round(ab.ms)} ms, then ${ab.answered}/10 echo queries answered`)
  tl.check(bConnects.length > 0 && bConnects.every(p => p === 'relay'), `A's frames reached B through ${bConnects.join(', ') || 'nothing'} (B has no listening socket)`)
  const ba = await firstContact(b, a.nodeId, 10)
  tl.check(ba.answered === 10, `B → A: ${ba.answered}/10 echo queries answered (B dials out to A directly)`)

  // ── B killed with SIGKILL and restarted ────────────────────────────────────────────────────────────────
  b = await restartStep({
    tl,
    narrator,
    a,
    b,
    restart: async (prepare) => await startNode('B', prepare),
    reachable: async (node) => { await node.waitForRecord(r => relaysOf(r).some(id => relayIds.has(id)), RELAY_FOUND_MS) }
  })

  // ── a relay killed: B moves to the other ───────────────────────────────────────────────────────────────
  tl.begin('relay killed', 'the relay B advertises first dies; B moves to the other and A follows')
  try {
    await b.waitForRecord(r => relays.every(x => relaysOf(r).includes(x.nodeId)), RELAY_FOUND_MS)
  } catch { /* then B has one relay: the check below says so */ }
  tl.check(relays.every(x => relaysOf(b.record).includes(x.nodeId)), `B is registered with both relays and advertises ${relaysOf(b.record).map(nameOf).join(' and ')}, in that order`)
  const firstRelay = relays.find(r => r.nodeId === relaysOf(b.record)[0]) ?? relays[0]!
  const otherRelay = relays.find(r => r !== firstRelay)!
  narrator.reset()
  narrator.live = true
  firstRelay.child.kill('SIGKILL')
  const killedAt = performance.now()
  tl.say(`relay ${firstRelay.name} killed with SIGKILL; A keeps querying B`)
  // Queries A sends while B's relay is dead: they reach B through the other (within their deadline).
  const during = Array.from({ length: 10 }, async (_, i) => {
    await new Promise(resolve => setTimeout(resolve, i * 100))
    const sentAt = performance.now()
    const r = await a.query(b.nodeId, 'echo', i, RELAY_FOUND_MS)
    return { ok: r.ok && r.value === i, code: r.code, waited: performance.now() - sentAt }
  })
  type Link = { endpoint: { relay?: string }, state: string, registered: boolean }
  const linkOf = (links: Link[], id: string): Link | undefined => links.find(l => l.endpoint.relay === id)
  let links: Link[] = []
  const moved = (): boolean => linkOf(links, firstRelay.nodeId)?.state !== 'ready' && linkOf(links, otherRelay.nodeId)?.state === 'ready' && linkOf(links, otherRelay.nodeId)?.registered === true
  // The relay client reports its links' states only when asked: a few status calls until the move shows.
  while (performance.now() - killedAt < RELAY_FOUND_MS) {
    links = ((await b.status()).relays ?? []) as Link[]
    if (moved()) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  tl.check(moved(), `B moved after ${((performance.now() - killedAt) / 1000).toFixed(2)} s: it receives through ${otherRelay.name} alone; its link to ${firstRelay.name} is ${linkOf(links, firstRelay.nodeId)?.state ?? 'gone'}`)
  if (relaysOf(b.record).includes(firstRelay.nodeId)) tl.note(`(B's record still lists ${firstRelay.name}: with no third relay to replace it, B keeps reconnecting to it; senders try ${otherRelay.name} next)`)
  const duringResults = await Promise.all(during)
  const longest = Math.max(0, ...duringResults.filter(r => r.ok).map(r => r.waited))
  if (longest > 2_000) tl.note(`(a message ${firstRelay.name} had taken but not confirmed when it died is re-sent through ${otherRelay.name} once the relay's confirmation deadline passes: hence the longest wait)`)
  tl.check(duringResults.every(r => r.ok), `the 10 queries A sent while the relay was dead: ${duringResults.filter(r => r.ok).length} answered (waited up to ${(longest / 1000).toFixed(2)} s)${duringResults.some(r => !r.ok) ? `, ${duringResults.filter(r => !r.ok).length} reported failed (${[...new Set(duringResults.filter(r => !r.ok).map(r => r.code))].join(', ')})` : ''}, 0 lost`)
  const after = await Promise.all(Array.from({ length: 10 }, async (_, i) => await a.query(b.nodeId, 'echo', i, QUERY_TIMEOUT_MS)))
  tl.check(after.every((r, i) => r.ok && r.value === i), `A → ${otherRelay.name} → B: ${after.filter(r => r.ok).length}/10 echo queries answered${after.some(r => !r.ok) ? ` (${[...new Set(after.filter(r => !r.ok).map(r => r.code))].join(', ')})` : ''}`)
  narrator.live = false

  // ── a tracker killed: lookups still answered ───────────────────────────────────────────────────────────
  tl.begin('tracker killed', 'T1 dies; C, which never talked to B, still finds it by node ID')
  trackers[0]!.child.kill('SIGKILL')
  tl.say(`metatracker T1 killed with SIGKILL (the bootpage lists T1 first)`)
  const cb = await firstContact(c, b.nodeId, 10)
  tl.check(cb.answered === 10, `C → B: looked up through T2 and answered after ${Math.round(cb.ms)} ms (${cb.attempts} attempt${cb.attempts === 1 ? '' : 's'}${cb.code !== undefined ? `, last ${cb.code}` : ''}), then ${cb.answered}/10 echo queries`)
  const bc = await firstContact(b, c.nodeId, 10)
  tl.check(bc.answered === 10, `B → C: looked up and answered after ${Math.round(bc.ms)} ms, then ${bc.answered}/10 echo queries`)
  const seen = (await trackersOf(c)).filter(t => trackers.some(x => x.nodeId === t.nodeId)).map(t => `${nameOf(t.nodeId)} ${t.requests} request${t.requests === 1 ? '' : 's'}, ${t.failures} failed`)
  tl.note(`C's tracker client: ${seen.join('; ') || 'no figures'}${cb.ms > 2_500 ? '; the wait before C\'s first answer is the request to the dead T1 timing out' : ''}`)

  if (keep) {
    await keepUp(tl, { pageUrl, signer: signer.nodeId, a, b, work })
    return
  }
  tl.begin('stop', 'everything ends gracefully')
  await Promise.all([a.stop(), b.stop(), c.stop()])
  for (const s of [...relays, ...trackers]) if (alive(s.child)) s.child.kill('SIGTERM')
  http.close()
}

/** --keep: the network stays up until Ctrl-C; print how to join it. */
async function keepUp (tl: Timeline, n: { pageUrl: string, signer: string, a: NodeProcess, b: NodeProcess, work: string }): Promise<void> {
  tl.begin('keep', 'the network stays up; Ctrl-C ends it')
  const lines = [
    'Join it from another terminal, in the repository root:',
    `  pnpm exec egtp-node run --state-dir /tmp/egtp-you --relay auto --bootpage ${n.pageUrl} --bootpage-key ${n.signer}`,
    `  pnpm exec egtp-node chat ${n.a.nodeId} --state-dir /tmp/egtp-you      # chat with A (what A gets shows here)`,
    'Or speak as A to B right away:',
    `  pnpm exec egtp-node chat ${n.b.nodeId} --state-dir ${join(n.work, 'a')}`
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  tl.say('stopping')
}
