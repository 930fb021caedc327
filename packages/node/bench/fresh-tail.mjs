// What the slowest fresh peers waited for: per span written by `FRESH_GC=1 FRESH_PROF_DIR=DIR bench:fresh ... apart`
// (DIR/spans.json), the timeline of both processes' CPU profiles (DIR/client-*.cpuprofile, DIR/server-*.cpuprofile)
// during that span: consecutive samples with the same task (outermost JS frame, e.g. processTimers) and innermost
// EGTP function merged into segments, offsets in ms from the query's start. Profiles and spans share one clock
// (CLOCK_MONOTONIC µs), so the server's segments line up with the client's.
//   pnpm --filter @egtp/node bench:tail DIR [min segment ms = 0.1]   (TAIL_QUIET=1: the summaries only)
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.argv[2]
const minMs = Number(process.argv[3] ?? 0.1)
const spans = JSON.parse(readFileSync(join(dir, 'spans.json'), 'utf8'))
const load = prefix => {
  const file = readdirSync(dir).find(f => f.startsWith(prefix) && f.endsWith('.cpuprofile'))
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  const byId = new Map(prof.nodes.map(n => [n.id, n]))
  const parent = new Map()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const labels = new Map()
  const label = id => {
    if (labels.has(id)) return labels.get(id)
    const frames = []
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) frames.push(byId.get(cur).callFrame)
    const leaf = frames[0]
    let text
    if (leaf.functionName.startsWith('(')) text = leaf.functionName
    else {
      const js = frames.filter(f => f.url !== '' && !f.functionName.startsWith('('))
      const task = js.at(-1)?.functionName || '(anon)'
      const ours = frames.find(f => /\/packages\/(?!.*node_modules)/.test(f.url))
      const where = ours === undefined ? leaf.functionName || '(anon)' : `${ours.functionName || '(anon)'} ${ours.url.replace(/^.*\/packages\//, '')}:${ours.lineNumber + 1}`
      text = `${task} > ${where}${ours !== undefined && ours !== leaf && leaf.url === '' ? ` [${leaf.functionName}]` : ''}`
    }
    labels.set(id, text)
    return text
  }
  const times = []
  let t = prof.startTime
  for (let i = 0; i < prof.samples.length; i++) { t += prof.timeDeltas[i]; times.push(t) }
  return { prof, times, label }
}
const SAMPLE_US = 180
const GAP_US = 500
const sides = [['client', load('client-')], ['server', load('server-')]]
const show = (title, span, total) => {
  const end = span.us + span.ms * 1000
  if (process.env.TAIL_QUIET !== '1') console.log(`\n=== ${title}: ${span.ms.toFixed(2)} ms`)
  for (const [name, { prof, times, label }] of sides) {
    const segs = []
    const push = (l, from, d) => {
      const last = segs.at(-1)
      if (last !== undefined && last.l === l) last.d += d; else segs.push({ l, from, d })
    }
    for (let i = 0; i < times.length; i++) {
      if (times[i] < span.us || times[i] > end) continue
      // A sample's delta is the time since the previous one; beyond GAP_US the process (or its profiler thread)
      // was not running: the excess is time the OS gave to others (2 cores, two processes and the machine's load).
      const delta = prof.timeDeltas[i]
      if (delta > GAP_US) push('(descheduled)', times[i] - delta + SAMPLE_US, delta - SAMPLE_US)
      const l = label(prof.samples[i])
      const dt = Math.min(delta, SAMPLE_US)
      push(l, times[i] - dt, dt)
    }
    const byLabel = new Map()
    for (const s of segs) byLabel.set(s.l, (byLabel.get(s.l) ?? 0) + s.d)
    for (const s of segs) total.set(`${name} ${kind(s.l)}`, (total.get(`${name} ${kind(s.l)}`) ?? 0) + s.d)
    if (process.env.TAIL_QUIET === '1') continue
    console.log(`  ${name}: ${[...byLabel].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([l, d]) => `${(d / 1000).toFixed(2)} ${l}`).join(' | ')}`)
    for (const s of segs) if (s.d >= minMs * 1000) console.log(`    ${((s.from - span.us) / 1000).toFixed(2).padStart(6)} +${(s.d / 1000).toFixed(2)} ${s.l}`)
  }
}
const quiet = process.env.TAIL_QUIET === '1'
const totals = { median: new Map(), slow: new Map() }
const kind = l => l.startsWith('(') ? l : l.split(' > ')[0]
const show0 = show
for (const [title, list] of [['median', spans.median], ['slow', spans.slow]]) {
  for (const s of list) show0(title, s, totals[title])
}
for (const [title, m] of Object.entries(totals)) {
  const n = title === 'median' ? spans.median.length : spans.slow.length
  console.log(`\n${title} (${n} spans), ms per span by process and task: ` + [...m].sort((a, b) => b[1] - a[1]).slice(0, 16).map(([k, d]) => `${k} ${(d / 1000 / n).toFixed(2)}`).join(', '))
}

// Where each process's CPU went, inside the timed queries (on a peer's critical path) and between them (the
// previous peer's deferred work, teardown, node creation): ms per peer by label, the labels of the top.
if (spans.all !== undefined) {
  const spansSorted = spans.all.map(s => [s.us, s.us + s.ms * 1000]).sort((a, b) => a[0] - b[0])
  const inside = t => {
    let lo = 0; let hi = spansSorted.length - 1
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (spansSorted[mid][1] < t) lo = mid + 1; else if (spansSorted[mid][0] > t) hi = mid - 1; else return true }
    return false
  }
  const first = spansSorted[0][0]; const last = spansSorted.at(-1)[1]
  for (const [name, { prof, times, label }] of sides) {
    const where = [new Map(), new Map()]
    for (let i = 0; i < times.length; i++) {
      if (times[i] < first || times[i] > last) continue
      const l = label(prof.samples[i])
      if (l === '(idle)') continue
      const m = where[inside(times[i]) ? 0 : 1]
      m.set(l, (m.get(l) ?? 0) + Math.min(prof.timeDeltas[i], SAMPLE_US))
    }
    for (const [k, m] of [['inside', where[0]], ['between', where[1]]]) {
      const sum = [...m.values()].reduce((a, b) => a + b, 0)
      console.log(`\n${name} ${k} queries: ${(sum / spansSorted.length).toFixed(0)} µs per peer (sampled)`)
      for (const [l, d] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TAIL_TOP ?? 12))) console.log(`  ${(d / spansSorted.length).toFixed(0).padStart(5)} µs ${l}`)
    }
  }
}
