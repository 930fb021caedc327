// One-way 64 B sends with a window of W in flight, two built EGTP versions interleaved in one process (each with
// its own pair of nodes): the median CPU per message (both nodes, user + system) of each and the median of the
// per-block-pair ratios A/B.
//   node bench/oneway-pair.mjs DIR_A DIR_B [blocks] [messages per block] [window]
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
const dirs = [process.argv[2], process.argv[3]]
const BLOCKS = Number(process.argv[4] ?? 12); const PER = Number(process.argv[5] ?? 100000); const W = Number(process.argv[6] ?? 4096)
const load = async (dir, pkg) => await import(pathToFileURL(join(dir, 'packages', pkg, 'dist', 'index.js')).href)
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const body = new Uint8Array(64)
const sides = []
for (const dir of dirs) {
  const { createNode, memoryDirectory } = await load(dir, 'node')
  const { tcp } = await load(dir, 'tcp')
  const directory = memoryDirectory(); const listen = [{ kind: 'tcp', host: '127.0.0.1', port: 0 }]
  const a = await createNode({ commstrats: [tcp({ listen })()], lookup: directory, announcer: directory })
  const b = await createNode({ commstrats: [tcp({ listen })()], lookup: directory, announcer: directory })
  await a.start(); await b.start()
  b.handle('m', () => {}, { borrowPayload: true })
  const run = n => new Promise((resolve, reject) => { let started = 0, done = 0; const next = () => { while (started - done < W && started < n) { started++; a.send(b.nodeId, 'm', body).then(() => { done++; if (done === n) resolve(); else next() }, reject) } }; next() })
  await run(200000)
  sides.push({ dir, a, b, run, cpu: [] })
}
for (let k = 0; k < BLOCKS; k++) {
  for (const s of k % 2 === 0 ? sides : [...sides].reverse()) {
    const c0 = process.cpuUsage(); await s.run(PER); const c = process.cpuUsage(c0)
    s.cpu.push((c.user + c.system) * 1000 / PER)
  }
}
const ratios = sides[0].cpu.map((x, i) => x / sides[1].cpu[i])
for (const s of sides) console.log(`${s.dir}: cpu ${median(s.cpu).toFixed(0)} ns/msg (both nodes)`)
console.log(`A/B median ${median(ratios).toFixed(3)}`)
for (const s of sides) { await s.a.stop(); await s.b.stop() }
