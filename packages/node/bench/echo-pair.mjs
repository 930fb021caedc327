// One query in flight, two built EGTP versions interleaved in one process (the load of a shared machine falls
// on both alike): each version has its own pair of nodes here (client and server, both in this process);
// blocks of round trips alternate A, B, A, B... Prints, per version, the median CPU per round trip (both nodes,
// user + system) and the median of the per-block-pair ratios A/B.
//   node bench/echo-pair.mjs DIR_A DIR_B [blocks] [round trips per block]
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const dirs = [process.argv[2], process.argv[3]]
const BLOCKS = Number(process.argv[4] ?? 20)
const PER_BLOCK = Number(process.argv[5] ?? 2000)
const body = new Uint8Array(64)
const load = async (dir, pkg) => await import(pathToFileURL(join(dir, 'packages', pkg, 'dist', 'index.js')).href)
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const sides = []
for (const dir of dirs) {
  const { createNode, memoryDirectory } = await load(dir, 'node')
  const { tcp } = await load(dir, 'tcp')
  const directory = memoryDirectory()
  const listen = [{ kind: 'tcp', host: '127.0.0.1', port: 0 }]
  const a = await createNode({ commstrats: [tcp({ listen })()], lookup: directory, announcer: directory })
  const b = await createNode({ commstrats: [tcp({ listen })()], lookup: directory, announcer: directory })
  await a.start(); await b.start()
  b.handle('echo', p => p)
  for (let i = 0; i < 3000; i++) await a.query(b.nodeId, 'echo', body) // warm-up
  sides.push({ dir, a, b, cpu: [], wall: [] })
}
for (let k = 0; k < BLOCKS; k++) {
  for (const s of k % 2 === 0 ? sides : [...sides].reverse()) {
    const c0 = process.cpuUsage(); const t0 = performance.now()
    for (let i = 0; i < PER_BLOCK; i++) await s.a.query(s.b.nodeId, 'echo', body)
    const c = process.cpuUsage(c0)
    s.cpu.push((c.user + c.system) / PER_BLOCK)
    s.wall.push((performance.now() - t0) * 1000 / PER_BLOCK)
  }
}
const ratios = sides[0].cpu.map((x, i) => x / sides[1].cpu[i])
for (const s of sides) console.log(`${s.dir}: cpu ${median(s.cpu).toFixed(2)} µs/rt, wall ${median(s.wall).toFixed(1)} µs/rt`)
console.log(`cpu A/B: median of ${ratios.length} block ratios ${median(ratios).toFixed(3)} (quartiles ${[...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 4)].toFixed(3)}–${[...ratios].sort((x, y) => x - y)[Math.floor(3 * ratios.length / 4)].toFixed(3)})`)
for (const s of sides) { await s.a.stop(); await s.b.stop() }
