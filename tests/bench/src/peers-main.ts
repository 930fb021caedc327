// Idle peers child: `peers-main.js <impl> <address JSON> <count> [EGTP sources]`. Connects `count` fresh peers
// to the server (each gets its first reply, then stays connected and silent) and reports ready.
import { failStartup, serveParent } from './ipc.ts'
import { loadImpl, parseSourceArgs } from './impl/index.ts'
import type { FreshPeer } from './impl/types.ts'

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
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      next++
      const peer = await impl.fresh(address)
      await peer.run(payload)
      peers.push(peer)
    }
  }))
  serveParent({ count: peers.length, ms: performance.now() - start }, {}, async () => {})
} catch (err) {
  failStartup(err)
}
