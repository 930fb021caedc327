// A server child: `server-main.js <impl> <echo|sink> <maxPeers> [--relay <endpoint JSON>] [EGTP sources]`.
// Answers `expect` (resolves once that many payload bytes arrived), `cpu` (CPU ms so far), `mem` (heap and RSS after a full GC) and
// `eld-start`/`eld-stop` (event-loop delay while traffic flows).
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { IntervalHistogram } from 'node:perf_hooks'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { failStartup, serveParent } from './ipc.ts'
import { loadImpl, parseSourceArgs } from './impl/index.ts'
import type { ServerMode } from './impl/types.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const [name, mode, maxPeers] = process.argv.slice(2)
const relayAt = process.argv.indexOf('--relay')
try {
  const impl = await loadImpl(name!, parseSourceArgs(process.argv))
  const server = await impl.serve({
    mode: mode as ServerMode,
    maxPeers: Number(maxPeers),
    ...(relayAt >= 0 ? { relay: JSON.parse(process.argv[relayAt + 1]!) as unknown } : {})
  })
  let eld: IntervalHistogram | undefined
  serveParent(server.address, {
    expect: async (msg) => {
      const bytes = msg.bytes as number
      while (server.receivedBytes() < bytes) await new Promise(resolve => setTimeout(resolve, 1))
    },
    cpu: async () => {
      const { user, system } = process.cpuUsage()
      return (user + system) / 1000
    },
    mem: async () => {
      for (let i = 0; i < 3; i++) {
        gc()
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage()
      return { heapUsed, rss, external, arrayBuffers }
    },
    'eld-start': async () => {
      eld = monitorEventLoopDelay({ resolution: 1 })
      eld.enable()
    },
    'eld-stop': async () => {
      eld?.disable()
      return { p99Ms: (eld?.percentile(99) ?? 0) / 1e6, maxMs: (eld?.max ?? 0) / 1e6 }
    }
  }, () => server.stop())
} catch (err) {
  failStartup(err)
}
