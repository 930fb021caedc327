// pnpm bench: relayed one-way throughput A → relay → B over loopback TCP beside a direct @egtp/tcp connection
// A → B measured in the same run, with the relay in its own process (as deployed) and, for comparison, all
// three parties in one process; then the relay's heap per idle client (the clients run in a child process, so
// the relay's heap holds only its own side). Ends with the targets and whether they were met.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateIdentity } from '@egtp/identity'
import type { Conn, RelayEndpoint } from '@egtp/interface'
import { heading, measureAsync, report } from '@egtp/scripts/bench'
import { tcp } from '@egtp/tcp'
import { relayClient, relayServer } from '../src/index.ts'

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
async function childRelay (): Promise<{ endpoint: RelayEndpoint, stop: () => Promise<void> }> {
  const fixture = fileURLToPath(new URL('./fixtures/relay-server.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@egtp/source', fixture], { stdio: ['pipe', 'pipe', 'inherit'] })
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

/** Relayed throughput beside direct TCP measured just before it, with the target ratio. */
async function compare (size: number, batch: number, target: number): Promise<void> {
  const d = await direct(size, batch)
  report(d.result)
  await d.close()
  for (const where of ['child', 'in-process'] as const) {
    const r = await relayed(size, batch, where)
    report(r.result, d.result)
    await r.close()
    const ratio = r.result.opsPerSec / d.result.opsPerSec
    verdicts.push(`${size === 64 ? '64 B' : '64 KiB'} relayed/direct, ${where === 'child' ? 'relay in its own process' : 'all in one process'}: ${ratio.toFixed(2)}x (target ≥ ${target.toFixed(2)}x) ${ratio >= target ? 'ok' : 'MISSED'}`)
  }
}

const verdicts: string[] = []
heading('one-way throughput (64 B messages; direct = raw @egtp/tcp connection A → B)')
await compare(64, 2000, 0.4)
heading('one-way throughput (64 KiB messages)')
await compare(64 * 1024, 64, 0.5)

heading('1 000 idle clients on one relay (clients in a child process)')
{
  const n = 1000
  const transport = tcp({ maxConnections: n + 100, maxInboundPerAddress: n + 100 })()
  const server = relayServer({ maxConnections: n + 100 })({ transport, identity: generateIdentity() })
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

heading('targets (issue 5)')
for (const v of verdicts) console.log(v)
