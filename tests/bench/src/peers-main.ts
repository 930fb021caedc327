// Idle peers child: `peers-main.js <impl> <address JSON> <count> [EGTP sources]`. Connects `count` fresh peers
// to the server (each gets its first reply, then stays connected and silent) and reports ready, with the time
// and this process's CPU the setup took.
import { failStartup, serveParent } from './ipc.ts'
import { loadImpl, parseSourceArgs } from './impl/index.ts'
import type { FreshPeer, Impl } from './impl/types.ts'

/** A peer that failed to set up (a handshake timing out on a loaded machine) is tried again, a few times. */
const ATTEMPTS = 3

async function connectOne (impl: Impl, address: unknown, payload: Uint8Array): Promise<FreshPeer> {
  for (let attempt = 1; ; attempt++) {
    const peer = await impl.fresh(address)
    try {
      await peer.run(payload)
      return peer
    } catch (err) {
      await peer.dispose().catch(() => {})
      if (attempt === ATTEMPTS) throw err
    }
  }
}

const CONCURRENCY = Number(process.env.BENCH_PEERS_CONCURRENCY ?? 16)
const [name, addressJson, countText] = process.argv.slice(2)
try {
  const impl = await loadImpl(name!, parseSourceArgs(process.argv))
  const address = JSON.parse(addressJson!) as unknown
  const count = Number(countText)
  const peers: FreshPeer[] = []
  const payload = new Uint8Array(64)
  let next = 0
  const start = performance.now()
  const cpuBefore = process.cpuUsage()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      next++
      peers.push(await connectOne(impl, address, payload))
      if (process.env.BENCH_PEERS_PROGRESS !== undefined && peers.length % 250 === 0) {
        process.stderr.write(`${name}: ${peers.length} idle peers in ${((performance.now() - start) / 1000).toFixed(1)} s\n`)
      }
    }
  }))
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpuBefore)
  serveParent({ count: peers.length, ms, cpuMs: (cpu.user + cpu.system) / 1000 }, {}, async () => {})
} catch (err) {
  failStartup(err)
}
