import { commstratCompliance, transportCompliance } from '../src/compliance.ts'
import { DEFAULT_MEMORY_MAX_FRAME_BYTES, memoryNetwork } from '../src/index.ts'

commstratCompliance('memory', async () => {
  const net = memoryNetwork()
  const a = net.commstrat()
  const b = net.commstrat()
  const dead = net.commstrat() // never started: nobody listens on its port
  await Promise.all([a.start(), b.start()])
  return {
    a,
    b,
    endpointOfB: b.endpoint,
    deadEndpoint: dead.endpoint,
    foreignEndpoint: { kind: 'tcp', host: '127.0.0.1', port: 4000 },
    teardown: async () => { await Promise.all([a.stop(), b.stop()]) }
  }
})

commstratCompliance('memory with latency and jitter (in order)', async () => {
  const net = memoryNetwork({ latencyMs: 3, jitterMs: 5, seed: 42 })
  const a = net.commstrat()
  const b = net.commstrat()
  await Promise.all([a.start(), b.start()])
  return {
    a,
    b,
    endpointOfB: b.endpoint,
    deadEndpoint: { ...b.endpoint, port: 60_000 },
    foreignEndpoint: { kind: 'relay', relay: 'r', host: net.host, port: b.port },
    teardown: async () => { await Promise.all([a.stop(), b.stop()]) }
  }
})

transportCompliance('memory transport', async () => {
  const net = memoryNetwork({ maxFrameBytes: 200_000 })
  const transport = net.transport()
  return { transport, listenAt: { kind: 'tcp', host: '127.0.0.1', port: 0 }, maxFrameBytes: 200_000, teardown: () => transport.close() }
})

transportCompliance('memory transport with latency and jitter', async () => {
  const net = memoryNetwork({ latencyMs: 3, jitterMs: 5, seed: 42 })
  const transport = net.transport()
  return { transport, listenAt: { kind: 'tcp', host: net.host, port: 0 }, maxFrameBytes: DEFAULT_MEMORY_MAX_FRAME_BYTES, teardown: () => transport.close() }
})
