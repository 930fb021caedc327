// pnpm bench: one tracker process holding 100 000 records (embedded store, then Redis), clients in other
// processes over real EGTP sessions on 127.0.0.1. Lookups/s with p50/p99 latency, publishes/s (each verified
// by the tracker), heap per stored record. Ends with the issue's targets and whether they were met.
import { spawn } from 'node:child_process'
import type { ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { heading } from '@egtp/scripts/bench'
import { writeRecords } from './fixtures/records.ts'
import { redisAvailable, startRedis } from '@egtp/scripts/redis'

type Child = ChildProcessByStdio<Writable, Readable, null>
const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000)
const CLIENTS = 2
const PHASE_MS = 3000
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))

function start (name: string, args: string[]): Child {
  return spawn(process.execPath, ['--import', 'tsx', '--conditions=@egtp/source', fixture(name), ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
}

/** Resolves with the child's next stdout line. */
async function line (child: Child): Promise<string> {
  let buf = ''
  return await new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString()
      const i = buf.indexOf('\n')
      if (i < 0) return
      child.stdout.off('data', onData)
      resolve(buf.slice(0, i))
    }
    child.stdout.on('data', onData)
    child.once('exit', code => { reject(new Error(`fixture exited with ${String(code)}`)) })
  })
}

interface Phase { perSec: number, p50: number, p99: number }

async function phase (record: string, file: string, mode: 'lookup' | 'publish', window: number): Promise<Phase> {
  const clients = Array.from({ length: CLIENTS }, () => start('client', [JSON.stringify({ record, file, mode, ms: PHASE_MS, window, publishes: 12_000 })]))
  for (const c of clients) if (await line(c) !== 'go') throw new Error('client not ready')
  for (const c of clients) c.stdin.write('go\n')
  const results = await Promise.all(clients.map(async c => JSON.parse(await line(c)) as { done: number, ms: number, p50: number, p99: number }))
  await Promise.all(clients.map(async c => { if (c.exitCode === null) await once(c, 'exit') }))
  return {
    perSec: results.reduce((n, r) => n + r.done / (r.ms / 1000), 0),
    p50: Math.max(...results.map(r => r.p50)),
    p99: Math.max(...results.map(r => r.p99))
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const ms = (n: number): string => `${n.toFixed(2)} ms`

const dir = await mkdtemp(join(tmpdir(), 'egtp-mt-bench-'))
const file = join(dir, 'records.bin')
const results: Record<string, { lookup: Phase, lookupLight: Phase, lookupLighter: Phase, publish: Phase, heapPerRecord: number | null, recordBytes: number }> = {}
const load = (): string => loadavg().map(l => l.toFixed(1)).join(' ')
console.log(`load average at start: ${load()} (2 cores: above 2, other processes share them and every figure drops)`)
try {
  let t = performance.now()
  await writeRecords(file, RECORDS)
  console.log(`signed ${fmt(RECORDS)} records in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  const stores: Array<'memory' | 'redis'> = ['memory']
  if (redisAvailable()) stores.push('redis')
  for (const kind of stores) {
    const redis = kind === 'redis' ? await startRedis() : undefined
    try {
      t = performance.now()
      const tracker = start('tracker', [file, kind, ...(redis !== undefined ? [redis.url] : [])])
      const ready = JSON.parse(await line(tracker)) as { record: string, records: number, heapPerRecord: number | null, recordBytes: number }
      heading(`${kind} store: ${fmt(ready.records)} records (loaded in ${((performance.now() - t) / 1000).toFixed(1)} s), ${CLIENTS} client processes`)
      const lookup = await phase(ready.record, file, 'lookup', 64)
      console.log(`lookups, 64 in flight per client        ${fmt(lookup.perSec).padStart(8)} /s   p50 ${ms(lookup.p50)}   p99 ${ms(lookup.p99)}`)
      const lookupLight = await phase(ready.record, file, 'lookup', 8)
      console.log(`lookups, 8 in flight per client         ${fmt(lookupLight.perSec).padStart(8)} /s   p50 ${ms(lookupLight.p50)}   p99 ${ms(lookupLight.p99)}`)
      const lookupLighter = await phase(ready.record, file, 'lookup', 4)
      console.log(`lookups, 4 in flight per client         ${fmt(lookupLighter.perSec).padStart(8)} /s   p50 ${ms(lookupLighter.p50)}   p99 ${ms(lookupLighter.p99)}`)
      const publish = await phase(ready.record, file, 'publish', 64)
      console.log(`publishes (verified), 64 in flight      ${fmt(publish.perSec).padStart(8)} /s   p50 ${ms(publish.p50)}   p99 ${ms(publish.p99)}`)
      if (ready.heapPerRecord !== null) console.log(`heap per record beyond its ${ready.recordBytes.toFixed(0)} bytes: ${ready.heapPerRecord.toFixed(0)} B`)
      results[kind] = { lookup, lookupLight, lookupLighter, publish, heapPerRecord: ready.heapPerRecord, recordBytes: ready.recordBytes }
      tracker.stdin.end()
      await once(tracker, 'exit')
    } finally {
      await redis?.stop()
    }
  }
} finally {
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true })
}

heading(`targets (2-core machine, tracker and clients sharing it; load average now ${load()})`)
const m = results.memory!
const best = (x: { lookup: Phase, lookupLight: Phase }): Phase => x.lookup.perSec >= x.lookupLight.perSec ? x.lookup : x.lookupLight
const check = (ok: boolean): string => ok ? 'met' : 'NOT met'
console.log(`≥ 10 000 lookups/s (embedded): ${fmt(best(m).perSec)} — ${check(best(m).perSec >= 10_000)}`)
// The target is a rate and a latency together: the lowest p99 among the loads that still reach 10 000 lookups/s.
const atRate = [m.lookup, m.lookupLight, m.lookupLighter].filter(p => p.perSec >= 10_000).sort((x, y) => x.p99 - y.p99)[0]
console.log(`p99 ≤ 5 ms at ≥ 10 000 lookups/s (embedded): ${atRate === undefined ? 'no load reached the rate' : `${ms(atRate.p99)} at ${fmt(atRate.perSec)} /s`} — ${check(atRate !== undefined && atRate.p99 <= 5)}`)
console.log(`≥ 2 000 publishes/s (embedded): ${fmt(m.publish.perSec)} — ${check(m.publish.perSec >= 2000)}`)
console.log(`heap ≤ 1 KiB per record beyond its bytes: ${m.heapPerRecord?.toFixed(0) ?? '?'} B — ${check((m.heapPerRecord ?? Infinity) <= 1024)}`)
const r = results.redis
if (r !== undefined) {
  const ratio = best(r).perSec / best(m).perSec
  console.log(`Redis lookups ≥ half the embedded rate: ${fmt(best(r).perSec)} vs ${fmt(best(m).perSec)} (${ratio.toFixed(2)}x) — ${check(ratio >= 0.5)}`)
}
else console.log('Redis: skipped (no redis-server)')
