// Profiling helper: node A → relay → node B one-way sends, all in this process, or with `apart` the relay in
// its own process (bench/fixtures/relay-server.ts, run with RELAY_NODE_FLAGS, or RELAY_FLAGS='…' instead, and
// this process's node flags), or with `direct` B listening on TCP (the same nodes without the relay, for
// comparison). Usage:
//   node --import tsx --conditions=@egtp/source [--cpu-prof] bench/node-relay-prof.ts <size> <window> <seconds> [apart|direct]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { RelayEndpoint } from '@egtp/interface'
import { generateIdentity } from '@egtp/identity'
import { createNode, memoryDirectory } from '@egtp/node'
import { pumpFor } from '@egtp/scripts/bench'
import { tcp } from '@egtp/tcp'
import { RELAY_NODE_FLAGS, relayClient, relayServer } from '../src/index.ts'

const size = Number(process.argv[2] ?? 64)
const window = Number(process.argv[3] ?? 4096)
const seconds = Number(process.argv[4] ?? 3)
const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise(resolve => setImmediate(resolve))
}
let endpoint: RelayEndpoint
let stopRelay: () => Promise<void>
const direct = process.argv[5] === 'direct'
if (process.argv[5] === 'apart') {
  const relayFlags = process.env.RELAY_FLAGS !== undefined ? process.env.RELAY_FLAGS.split(' ').filter(Boolean) : RELAY_NODE_FLAGS
  const child = spawn(process.execPath, [...relayFlags, ...process.execArgv, fileURLToPath(new URL('./fixtures/relay-server.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] })
  // Node flags such as --trace-gc print to stdout too: the relay's address is on the line that starts with "ready".
  let output = ''
  while (!/^ready .*\n/m.test(output)) output += String((await once(child.stdout, 'data') as [Buffer])[0])
  child.stdout.pipe(process.stderr)
  const [, host, port, relay] = /^ready .*$/m.exec(output)![0].split(' ')
  endpoint = { kind: 'relay', relay: relay!, host: host!, port: Number(port) }
  stopRelay = async () => { child.stdin.end(); await once(child, 'exit') }
} else {
  const relayTransport = tcp()()
  const server = relayServer({ senderMessagesPerSecond: 1e9, senderBytesPerSecond: 2 ** 40, maxQueuedMessagesPerClient: 1_000_000, maxQueuedBytesPerClient: 2 ** 32, maxTotalQueuedBytes: 2 ** 33 })({ transport: relayTransport, identity: generateIdentity() })
  await server.start()
  endpoint = server.endpoint()
  stopRelay = async () => { await server.stop(); await relayTransport.stop() }
}
const dir = memoryDirectory()
const aTransport = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()
const aRelays = relayClient({ register: false })({ transport: aTransport, identity: generateIdentity() })
const bTransport = direct ? tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })() : tcp()()
const bId = generateIdentity()
const bRelays = relayClient({ relays: direct ? [] : [endpoint] })({ transport: bTransport, identity: bId })
const a = await createNode({ commstrats: [aTransport, aRelays], lookup: dir, announcer: dir })
const b = await createNode({ identity: bId, commstrats: [bTransport, bRelays], lookup: dir, announcer: dir })
await a.start()
await b.start()
await until(() => b.contactRecord()?.endpoints.some(e => e.kind === (direct ? 'tcp' : 'relay')) === true)
let got = 0
b.handle('m', () => { got++ })
const body = new Uint8Array(size).fill(7)
await a.send(b.nodeId, 'm', body)
const cpu0 = process.cpuUsage()
const start = performance.now()
const done = await pumpFor(seconds * 1000, window, () => a.send(b.nodeId, 'm', body))
const secs = (performance.now() - start) / 1000
const cpu = process.cpuUsage(cpu0)
if (got < done + 1) throw new Error(`B handled ${got} of ${done + 1} messages`)
console.log(`${size} B ${direct ? 'direct' : 'via relay'}: ${(done / secs).toFixed(0)} msg/s, ${(done * size / secs / 1e6).toFixed(1)} MB/s, ${((cpu.user + cpu.system) / done).toFixed(1)} cpu-us/msg; A retransmissions ${a.stats().retransmissions}`)
await Promise.all([a.stop(), b.stop()])
await Promise.all([aRelays.stop(), bRelays.stop()])
await Promise.all([aTransport.stop(), bTransport.stop()])
await stopRelay()
