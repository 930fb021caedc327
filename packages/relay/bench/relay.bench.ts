// pnpm bench: first the relay's heap per idle client (1 000 clients in a child process, so the relay's heap
// holds only its own side); then node messages A → relay → B beside node A → B over direct TCP, both measured
// in the same run, with the relay in its own process (as deployed, with RELAY_NODE_FLAGS) and all in one
// process; then 64 KiB with the relay process without and with RELAY_NODE_FLAGS; then the relay's own capacity
// in frames beside raw @egtp/tcp frames. Ends with the targets and whether they were met.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateIdentity } from '@egtp/identity'
import type { Conn, RelayEndpoint } from '@egtp/interface'
import { createNode, memoryDirectory } from '@egtp/node'
import type { EgtpNode } from '@egtp/node'
import { heading, measureAsync, pump, report } from '@egtp/scripts/bench'
import type { BenchResult } from '@egtp/scripts/bench'
import { tcp } from '@egtp/tcp'
import { RELAY_NODE_FLAGS, relayClient, relayServer } from '../src/index.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise(resolve => setImmediate(resolve))
}

const unlimited = {
  senderMessagesPerSecond: 1e9,
  senderBytesPerSecond: 2 ** 40,
  maxQueuedMessagesPerClient: 1_000_000,
  maxQueuedBytesPerClient: 2 ** 32,
  maxTotalQueuedBytes: 2 ** 33
}

async function direct (size: number, batch: number): Promise<{ result: Awaited<ReturnType<typeof measureAsync>>, close: () => Promise<void> }> {
  const a = tcp()()
  const b = tcp()()
  const listener = await b.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 })
  let received = 0
  listener.addEventListener('connection', ({ detail: conn }) => { conn.addEventListener('message', () => { received++ }) })
  const conn: Conn = await a.dial(listener.address())
  const frame = new Uint8Array(size).fill(7)
  const result = await measureAsync(`direct tcp A → B, ${size} B`, async () => {
    const target = received + batch
    const sends: Array<Promise<void>> = []
    for (let i = 0; i < batch; i++) sends.push(conn.send(frame))
    await Promise.all(sends)
    await until(() => received >= target)
    return batch
  }, { bytesPerOp: size })
  return { result, close: async () => { await conn.close(); await listener.close(); await a.stop(); await b.stop() } }
}

/** A relay server in a child process (as deployed: `apps/relay` runs alone), its endpoint and how to stop it. */
async function childRelay (nodeFlags: readonly string[] = RELAY_NODE_FLAGS): Promise<{ endpoint: RelayEndpoint, stop: () => Promise<void> }> {
  const fixture = fileURLToPath(new URL('./fixtures/relay-server.ts', import.meta.url))
  // By default with the flags apps/relay runs with (RELAY_NODE_FLAGS: a larger initial heap, see its doc comment).
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', '--conditions=@egtp/source', fixture], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = await Promise.race([
    once(child.stdout, 'data'),
    once(child, 'exit').then(([code]) => { throw new Error(`relay-server fixture exited with ${String(code)}`) })
  ]) as [Buffer]
  const [word, host, port, relay] = line.toString().trim().split(' ')
  if (word !== 'ready') throw new Error(`fixture said ${line.toString()}`)
  return {
    endpoint: { kind: 'relay', relay: relay!, host: host!, port: Number(port) },
    stop: async () => { child.stdin.end(); await once(child, 'exit') }
  }
}

/** A relay server in this process (all three parties share one thread). */
async function inProcessRelay (): Promise<{ endpoint: RelayEndpoint, stop: () => Promise<void> }> {
  const relayTransport = tcp()()
  const server = relayServer(unlimited)({ transport: relayTransport, identity: generateIdentity() })
  await server.start()
  return { endpoint: server.endpoint(), stop: async () => { await server.stop(); await relayTransport.stop() } }
}

async function relayed (size: number, batch: number, where: 'child' | 'in-process'): Promise<{ result: Awaited<ReturnType<typeof measureAsync>>, close: () => Promise<void> }> {
  const server = where === 'child' ? await childRelay() : await inProcessRelay()
  const bTransport = tcp()()
  const bId = generateIdentity()
  const b = relayClient({ relays: [server.endpoint] })({ transport: bTransport, identity: bId })
  await b.start()
  await until(() => b.localEndpoints().length === 1)
  let received = 0
  b.addEventListener('frame', () => { received++ })
  const aTransport = tcp()()
  const a = relayClient({ register: false })({ transport: aTransport, identity: generateIdentity() })
  await a.start()
  const endpoint = server.endpoint
  const frame = new Uint8Array(size).fill(7)
  const label = where === 'child' ? 'relay in its own process' : 'all in one process'
  const result = await measureAsync(`relayed A → relay → B, ${size} B (${label})`, async () => {
    const target = received + batch
    const sends: Array<Promise<void>> = []
    for (let i = 0; i < batch; i++) sends.push(a.send(bId.nodeId, endpoint, frame))
    await Promise.all(sends)
    await until(() => received >= target)
    return batch
  }, { bytesPerOp: size })
  return {
    result,
    close: async () => {
      await a.stop(); await b.stop(); await server.stop()
      await Promise.all([aTransport.stop(), bTransport.stop()])
    }
  }
}

/** Relayed frames beside direct TCP frames measured just before. */
async function compare (size: number, batch: number): Promise<void> {
  const d = await direct(size, batch)
  report(d.result)
  await d.close()
  for (const where of ['child', 'in-process'] as const) {
    const r = await relayed(size, batch, where)
    report(r.result, d.result)
    await r.close()
    const ratio = r.result.opsPerSec / d.result.opsPerSec
    frameRatios.push(`${size === 64 ? '64 B' : '64 KiB'} frames relayed/direct, ${where === 'child' ? 'relay in its own process' : 'all in one process'}: ${ratio.toFixed(2)}x`)
  }
}

// ---- node messages: what an application sees. Node A (listening) sends to node B, once straight over TCP and
// once with B relay-only (no listener: A reaches it only through the relay). The node packs small messages
// into one session frame per batch on both paths, as it does in use.

const LISTEN = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]

async function nodePair (relay: RelayEndpoint | undefined): Promise<{ a: EgtpNode, b: EgtpNode, stop: () => Promise<void> }> {
  const dir = memoryDirectory()
  const aTransport = tcp({ listen: LISTEN })()
  const aRelays = relayClient({ register: false })({ transport: aTransport, identity: generateIdentity() })
  const bTransport = relay === undefined ? tcp({ listen: LISTEN })() : tcp()()
  const bId = generateIdentity()
  const bRelays = relayClient({ relays: relay === undefined ? [] : [relay], register: relay !== undefined })({ transport: bTransport, identity: bId })
  const a = await createNode({ commstrats: [aTransport, aRelays], lookup: dir, announcer: dir })
  const b = await createNode({ identity: bId, commstrats: [bTransport, bRelays], lookup: dir, announcer: dir })
  await a.start()
  await b.start()
  const kind = relay === undefined ? 'tcp' : 'relay'
  await until(() => b.contactRecord()?.endpoints.some(e => e.kind === kind) === true)
  if (b.contactRecord()!.endpoints.some(e => e.kind === 'tcp') !== (relay === undefined)) throw new Error('B must be reachable one way only')
  return {
    a,
    b,
    stop: async () => {
      await Promise.all([a.stop(), b.stop()])
      await Promise.all([aRelays.stop(), bRelays.stop()])
      await Promise.all([aTransport.stop(), bTransport.stop()])
    }
  }
}

async function nodeSends (label: string, relay: RelayEndpoint | undefined, size: number, n: number, window: number): Promise<BenchResult> {
  const { a, b, stop } = await nodePair(relay)
  let got = 0
  b.handle('m', () => { got++ })
  const body = new Uint8Array(size).fill(7)
  await a.send(b.nodeId, 'm', body) // session and connections up before timing
  const result = await measureAsync(label, () => pump(n, window, () => a.send(b.nodeId, 'm', body)), { bytesPerOp: size })
  await stop()
  if (got < n) throw new Error('messages were lost')
  return result
}

/**
 * Relayed node messages beside direct ones, in paired rounds (direct, then relayed, measured back to back):
 * single figures on these 2 cores move by ±30% from run to run, so the verdict is the median ratio of the pairs.
 */
async function compareNodes (size: number, n: number, window: number, target: number, rounds = 5): Promise<void> {
  const what = size === 64 ? '64 B' : '64 KiB'
  const ratios: Record<'child' | 'in-process', number[]> = { child: [], 'in-process': [] }
  for (let round = 0; round < rounds; round++) {
    const d = await nodeSends(`node A → node B direct TCP, ${what}, window ${window}`, undefined, size, n, window)
    report(d)
    for (const where of ['child', 'in-process'] as const) {
      const server = where === 'child' ? await childRelay() : await inProcessRelay()
      const label = where === 'child' ? 'relay in its own process' : 'all in one process'
      const r = await nodeSends(`node A → relay → node B, ${what} (${label})`, server.endpoint, size, n, window)
      await server.stop()
      report(r, d)
      ratios[where].push(r.opsPerSec / d.opsPerSec)
    }
  }
  for (const where of ['child', 'in-process'] as const) {
    const sorted = [...ratios[where]].sort((x, y) => x - y)
    const ratio = sorted[Math.floor(sorted.length / 2)]!
    const label = where === 'child' ? 'relay in its own process' : 'all in one process'
    verdicts.push(`${what} node messages relayed/direct, ${label} (median of ${rounds} paired rounds: ${sorted.map(x => x.toFixed(2)).join(', ')}): ${ratio.toFixed(2)}x (target ≥ ${target.toFixed(2)}x) ${ratio >= target ? 'ok' : 'MISSED'}`)
  }
}

const verdicts: string[] = []
// First, while nothing else has run: the heap and buffers measured here are the relay's alone.
heading('1 000 idle clients on one relay (clients in a child process)')
{
  const n = 1000
  const transport = tcp({ maxConnections: n + 100, maxInboundPerAddress: n + 100 })()
  // All the clients come from one address and register at once: lift the per-source limit and the proof of
  // work by name (this measures memory per client, not admission).
  const server = relayServer({ maxConnections: n + 100, maxClientsPerSource: n + 100, workBits: 0 })({ transport, identity: generateIdentity() })
  await server.start()
  gc()
  const before = process.memoryUsage()
  const fixture = fileURLToPath(new URL('./fixtures/idle-clients.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@egtp/source', fixture,
    server.address().host, String(server.address().port), server.endpoint().relay, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = await Promise.race([
    once(child.stdout, 'data'),
    once(child, 'exit').then(([code]) => { throw new Error(`idle-clients fixture exited with ${String(code)}`) })
  ]) as [Buffer]
  if (!line.toString().startsWith('ready')) throw new Error(`fixture said ${line.toString()}`)
  await until(() => server.stats().connectedClients === n)
  gc()
  const after = process.memoryUsage()
  const heapPerClient = (after.heapUsed - before.heapUsed) / n
  // RSS is not used: it keeps what earlier phases of this run freed, so its difference can even be negative.
  const buffersPerClient = (after.heapUsed + after.external - before.heapUsed - before.external) / n
  console.log(`${'relay heap per idle client'.padEnd(48)} ${(heapPerClient / 1024).toFixed(1).padStart(12)} KiB   (target < 32 KiB)`)
  verdicts.push(`1 000 idle clients: ${(heapPerClient / 1024).toFixed(1)} KiB heap per client (target < 32 KiB) ${heapPerClient < 32 * 1024 ? 'ok' : 'MISSED'}`)
  console.log(`${'relay heap + buffers per idle client'.padEnd(48)} ${(buffersPerClient / 1024).toFixed(1).padStart(12)} KiB`)
  child.stdin.end()
  await once(child, 'exit')
  await server.stop()
  await transport.stop()
}

heading('node messages one-way A → B (64 B): direct TCP beside relayed')
await compareNodes(64, 20_000, 4096, 0.4)
heading('node messages one-way A → B (64 KiB)')
await compareNodes(64 * 1024, 2000, 128, 0.5)

// What RELAY_NODE_FLAGS does, in the same run: the relay process with and without them, beside direct TCP.
const flagEffects: string[] = []
heading('64 KiB node messages: the relay process without RELAY_NODE_FLAGS, then with them (3 paired rounds)')
{
  const ratios: Record<'without' | 'with', number[]> = { without: [], with: [] }
  for (let round = 0; round < 3; round++) {
    const d = await nodeSends('node A → node B direct TCP, 64 KiB, window 128', undefined, 64 * 1024, 2000, 128)
    report(d)
    for (const flags of ['without', 'with'] as const) {
      const server = await childRelay(flags === 'with' ? RELAY_NODE_FLAGS : [])
      const r = await nodeSends(`node A → relay → node B, 64 KiB (relay process ${flags} flags)`, server.endpoint, 64 * 1024, 2000, 128)
      await server.stop()
      report(r, d)
      ratios[flags].push(r.opsPerSec / d.opsPerSec)
    }
  }
  for (const flags of ['without', 'with'] as const) {
    const sorted = [...ratios[flags]].sort((x, y) => x - y)
    flagEffects.push(`64 KiB relayed/direct, relay process ${flags} RELAY_NODE_FLAGS (median of 3: ${sorted.map(x => x.toFixed(2)).join(', ')}): ${sorted[1]!.toFixed(2)}x`)
  }
}

// ---- the relay's own capacity per frame: relay clients A and B exchanging frames without nodes or sessions,
// beside raw @egtp/tcp frames A → B. Every frame is one relay entry here (a node batches its small messages
// into one frame), so this is the operator's figure: frames a relay moves per second.
const frameRatios: string[] = []
heading('relay capacity: one-way frames (64 B; direct = raw @egtp/tcp connection A → B)')
await compare(64, 2000)
heading('relay capacity: one-way frames (64 KiB)')
await compare(64 * 1024, 64)

heading('targets (issue 5: node messages A → relay → B beside direct TCP; idle clients)')
for (const v of verdicts) console.log(v)
heading('RELAY_NODE_FLAGS (no target: what the flags apps/relay runs with change)')
for (const v of flagEffects) console.log(v)
heading('relay capacity per frame (no target: each frame here is one relay entry)')
for (const v of frameRatios) console.log(v)
