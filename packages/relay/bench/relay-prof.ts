// Profiling helper: relayed one-way frames, all parties in this process. Usage:
//   node --import tsx --conditions=@egtp/source [--cpu-prof] bench/relay-prof.ts <size> <batch> <seconds>
import { generateIdentity } from '@egtp/identity'
import { tcp } from '@egtp/tcp'
import { relayClient, relayServer } from '../src/index.ts'

const size = Number(process.argv[2] ?? 64)
const batch = Number(process.argv[3] ?? 2000)
const seconds = Number(process.argv[4] ?? 3)
const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise(resolve => setImmediate(resolve))
}
const unlimited = { senderMessagesPerSecond: 1e9, senderBytesPerSecond: 2 ** 40, maxQueuedMessagesPerClient: 1_000_000, maxQueuedBytesPerClient: 2 ** 32, maxTotalQueuedBytes: 2 ** 33 }
const relayTransport = tcp()()
const server = relayServer(unlimited)({ transport: relayTransport, identity: generateIdentity() })
await server.start()
const endpoint = server.endpoint()
const bTransport = tcp()()
const bId = generateIdentity()
const b = relayClient({ relays: [endpoint] })({ transport: bTransport, identity: bId })
await b.start()
await until(() => b.localEndpoints().length === 1)
let received = 0
b.addEventListener('frame', () => { received++ })
const aTransport = tcp()()
const a = relayClient({ register: false })({ transport: aTransport, identity: generateIdentity() })
await a.start()
const frame = new Uint8Array(size).fill(7)
const start = performance.now()
const cpu0 = process.cpuUsage()
let sent = 0
while (performance.now() - start < seconds * 1000) {
  const target = received + batch
  const sends: Array<Promise<void>> = []
  for (let i = 0; i < batch; i++) sends.push(a.send(bId.nodeId, endpoint, frame))
  await Promise.all(sends)
  await until(() => received >= target)
  sent += batch
}
const secs = (performance.now() - start) / 1000
const cpu = process.cpuUsage(cpu0)
console.log(`${size} B relayed: ${(sent / secs).toFixed(0)} msg/s, ${((cpu.user + cpu.system) / sent).toFixed(2)} cpu-us/msg`)
await a.stop(); await b.stop(); await server.stop()
await Promise.all([aTransport.stop(), bTransport.stop(), relayTransport.stop()])
