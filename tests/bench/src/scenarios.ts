// The scenarios: each runs one implementation once (one round) and returns its figures by metric name.
// Servers run in a forked child process, the client here; 127.0.0.1 only.
import { measureAead } from './aead.ts'
import { Child } from './ipc.ts'
import { loadImpl, sourceArgs } from './impl/index.ts'
import type { EgtpSources } from './impl/index.ts'
import type { ClientConn, Impl, ServerMode } from './impl/types.ts'
import { median, percentile } from './stats.ts'

export interface Settings {
  quick: boolean
  rounds: number
  /** How long each throughput/latency figure is measured (ms). */
  measureMs: number
  /**
   * How long each connection runs the same traffic, untimed, before it is measured (ms): every server is a fresh
   * process, and V8 compiles its hot paths in the first thousands of messages (EGTP's echo cost ~300 µs of CPU
   * per side for the first ~2 000 round trips, ~45 µs after). A deployed server is warm; so is the figure.
   */
  warmUpMs: number
  freshPeers: number
  /** Fresh peers served, untimed, before the timed ones (the same reason as `warmUpMs`). */
  freshWarmUpPeers: number
  idlePeers: number
  /** Rounds of the idle scenario (its setup takes minutes): the first ones. */
  idleRounds: number
  /** Messages per one-way burst (64 B) and per bulk burst (64 KiB). */
  onewayBurst: number
  bulkBurst: number
}

export const FULL: Omit<Settings, 'rounds' | 'quick' | 'idleRounds'> = { measureMs: 1500, warmUpMs: 1500, freshPeers: 200, freshWarmUpPeers: 50, idlePeers: 5000, onewayBurst: 20_000, bulkBurst: 1000 }
export const QUICK: Omit<Settings, 'rounds' | 'quick' | 'idleRounds'> = { measureMs: 150, warmUpMs: 100, freshPeers: 20, freshWarmUpPeers: 5, idlePeers: 500, onewayBurst: 2_000, bulkBurst: 40 }

export type Figures = Record<string, number>

export interface Context {
  settings: Settings
  sources: EgtpSources
  /** Remember how an implementation did something (printed under the table). */
  note: (impl: string, text: string) => void
}

export interface Scenario {
  name: string
  /** Implementations it applies to. */
  impls: readonly string[]
  /** How many rounds it runs (default: all). */
  rounds?: (settings: Settings) => number
  run: (impl: string, ctx: Context) => Promise<Figures>
}

const SMALL = new Uint8Array(64).fill(7)
const LARGE = new Uint8Array(64 * 1024).fill(7)

const clients = new Map<string, Promise<Impl>>()
function client (name: string, sources: EgtpSources): Promise<Impl> {
  let impl = clients.get(name)
  if (impl === undefined) clients.set(name, impl = loadImpl(name, sources))
  return impl
}

async function withServer<T> (impl: string, mode: ServerMode, maxPeers: number, ctx: Context, fn: (server: Child) => Promise<T>, extra: string[] = []): Promise<T> {
  const server = await Child.start('server-main.js', [impl, mode, String(maxPeers), ...extra, ...sourceArgs(ctx.sources)])
  try {
    return await fn(server)
  } finally {
    await server.stop()
  }
}

/** Requests with `inFlight` outstanding for `ms`: round trips per second and latencies (µs). */
async function echoFor (conn: ClientConn, inFlight: number, ms: number): Promise<{ rtps: number, latUs: number[] }> {
  const latUs: number[] = []
  const end = performance.now() + ms
  const start = performance.now()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      const t = performance.now()
      await conn.request(SMALL)
      latUs.push((performance.now() - t) * 1000)
    }
  }))
  return { rtps: latUs.length / ((performance.now() - start) / 1000), latUs }
}

async function echo (impl: string, ctx: Context, inFlight: number): Promise<Figures> {
  return await withServer(impl, 'echo', 10, ctx, async server => {
    const conn = await (await client(impl, ctx.sources)).connect(server.ready)
    try {
      await echoFor(conn, inFlight, ctx.settings.warmUpMs) // warm-up
      const clientCpu = process.cpuUsage()
      const serverCpuBefore = await server.ask<number>('cpu')
      const { rtps, latUs } = await echoFor(conn, inFlight, ctx.settings.measureMs)
      const { user, system } = process.cpuUsage(clientCpu)
      const serverCpuMs = (await server.ask<number>('cpu')) - serverCpuBefore
      const key = inFlight === 1 ? 'echo1' : `echo${inFlight}`
      const figures: Figures = { [`${key}_rtps`]: rtps, [`${key}_p50_us`]: median(latUs), [`${key}_p99_us`]: percentile(latUs, 0.99) }
      if (inFlight === 1) {
        // CPU per round trip of each process: which side costs what, and steadier under load than round trips/s.
        figures.echo1_client_cpu_us_per_rt = (user + system) / latUs.length
        figures.echo1_server_cpu_us_per_rt = serverCpuMs * 1000 / latUs.length
      }
      return figures
    } finally {
      await conn.close()
    }
  })
}

/** One-way bursts of `n` messages until `ms` passed; delivered messages per second (counted by the server). */
async function oneWayFor (conn: ClientConn, server: Child, payload: Uint8Array, n: number, ms: number, sentBefore: number): Promise<{ rate: number, sent: number }> {
  let sent = sentBefore
  let msgs = 0
  const start = performance.now()
  do {
    await conn.sendMany(payload, n)
    sent += n
    msgs += n
    await server.ask('expect', { bytes: sent * payload.length })
  } while (performance.now() - start < ms)
  return { rate: msgs / ((performance.now() - start) / 1000), sent }
}

async function oneWay (impl: string, ctx: Context, payload: Uint8Array, n: number, key: string, serverExtra: string[] = [], relayed = false): Promise<Figures> {
  return await withServer(impl, 'sink', 10, ctx, async server => {
    const figures: Figures = {}
    const conn = await (await client(impl, ctx.sources)).connect(server.ready)
    let sent = 0
    try {
      sent = (await oneWayFor(conn, server, payload, Math.ceil(n / 10), ctx.settings.warmUpMs, sent)).sent // warm-up
      const sentBefore = sent
      const clientCpu = process.cpuUsage()
      const serverCpuBefore = await server.ask<number>('cpu')
      const r = await oneWayFor(conn, server, payload, n, ctx.settings.measureMs, sent)
      const { user, system } = process.cpuUsage(clientCpu)
      const serverCpuMs = (await server.ask<number>('cpu')) - serverCpuBefore
      sent = r.sent
      figures[key] = payload.length > 1024 ? r.rate * payload.length / 1e6 : r.rate
      if (payload.length > 1024 && !relayed) {
        // CPU per MB of each process (the client is this bench process): far steadier under load than MB/s.
        const mb = (sent - sentBefore) * payload.length / 1e6
        figures.bulk_sender_cpu_ms_per_mb = (user + system) / 1000 / mb
        figures.bulk_receiver_cpu_ms_per_mb = serverCpuMs / mb
      } else if (!relayed) {
        const msgs = sent - sentBefore
        figures.oneway_sender_cpu_us_per_msg = (user + system) / msgs
        figures.oneway_receiver_cpu_us_per_msg = serverCpuMs * 1000 / msgs
      }
      ctx.note(impl, `${relayed ? 'relayed ' : ''}one-way ${payload.length === 64 ? '64 B' : '64 KiB'}: ${conn.sendNote}`)
    } finally {
      await conn.close()
    }
    if ((impl === 'raw' || impl.startsWith('egtp')) && payload.length === 64 && !relayed) {
      // Batched, on the same kind of server: raw joins 256 frames into one write, EGTP 256 payloads into one send.
      const batched = await (await client(`${impl}-batched`, ctx.sources)).connect(server.ready)
      try {
        sent = (await oneWayFor(batched, server, payload, n, ctx.settings.warmUpMs, sent)).sent
        figures.oneway_batched = (await oneWayFor(batched, server, payload, n * 10, ctx.settings.measureMs, sent)).rate
        ctx.note(impl, `batched one-way 64 B: ${batched.sendNote}`)
      } finally {
        await batched.close()
      }
    }
    return figures
  }, serverExtra)
}

async function fresh (impl: string, ctx: Context): Promise<Figures> {
  const n = ctx.settings.freshPeers
  const warmUp = ctx.settings.freshWarmUpPeers
  return await withServer(impl, 'echo', n + warmUp, ctx, async server => {
    const factory = await client(impl, ctx.sources)
    const times: number[] = []
    let cpuBefore = 0
    for (let i = 0; i < n + warmUp; i++) {
      if (i === warmUp) cpuBefore = await server.ask<number>('cpu')
      const peer = await factory.fresh(server.ready)
      const t = performance.now()
      await peer.run(SMALL)
      if (i >= warmUp) times.push(performance.now() - t)
      await peer.dispose()
    }
    const serverCpuMs = (await server.ask<number>('cpu')) - cpuBefore
    return { fresh_median_ms: median(times), fresh_p99_ms: percentile(times, 0.99), fresh_server_cpu_ms: serverCpuMs / n }
  })
}

interface Mem { heapUsed: number, rss: number, external: number, arrayBuffers: number }

async function idle (impl: string, ctx: Context): Promise<Figures> {
  const n = ctx.settings.idlePeers
  return await withServer(impl, 'echo', n, ctx, async server => {
    const before = await server.ask<Mem>('mem')
    const serverCpuBefore = await server.ask<number>('cpu')
    const peers = await Child.start('peers-main.js', [impl, JSON.stringify(server.ready), String(n), ...sourceArgs(ctx.sources)], ['--max-old-space-size=16384'])
    try {
      const { ms, cpuMs } = peers.ready as { count: number, ms: number, cpuMs: number }
      const serverCpuMs = (await server.ask<number>('cpu')) - serverCpuBefore
      const after = await server.ask<Mem>('mem')
      const conn = await (await client(impl, ctx.sources)).connect(server.ready)
      try {
        await echoFor(conn, 1, ctx.settings.warmUpMs) // warm-up
        await server.ask('eld-start')
        const { rtps } = await echoFor(conn, 1, ctx.settings.measureMs)
        const eld = await server.ask<{ p99Ms: number }>('eld-stop')
        return {
          idle_heap_kib: (after.heapUsed - before.heapUsed) / n / 1024,
          idle_rss_kib: (after.rss - before.rss) / n / 1024,
          idle_external_kib: (after.external - before.external) / n / 1024,
          idle_setup_per_s: n / (ms / 1000),
          idle_setup_client_cpu_ms: cpuMs / n,
          idle_setup_server_cpu_ms: serverCpuMs / n,
          idle_eld_p99_ms: eld.p99Ms,
          idle_echo1_rtps: rtps
        }
      } finally {
        await conn.close()
      }
    } finally {
      await peers.stop()
    }
  })
}

async function relayed (impl: string, ctx: Context): Promise<Figures> {
  const relay = await Child.start('relay-main.js', [impl, ...sourceArgs(ctx.sources)], ['--initial-heap-size=128'])
  try {
    const extra = ['--relay', JSON.stringify(relay.ready)]
    return {
      ...await oneWay(impl, ctx, SMALL, ctx.settings.onewayBurst, 'relay_oneway', extra, true),
      ...await oneWay(impl, ctx, LARGE, ctx.settings.bulkBurst, 'relay_bulk_mbps', extra, true)
    }
  } finally {
    await relay.stop()
  }
}

const NET = ['raw', 'libp2p', 'hyperswarm', 'egtp', 'egtp@base'] as const
const EGTP = ['egtp', 'egtp@base'] as const

export const SCENARIOS: readonly Scenario[] = [
  { name: 'fresh', impls: NET, run: fresh },
  { name: 'echo', impls: NET, run: (impl, ctx) => echo(impl, ctx, 1) },
  { name: 'echo64', impls: NET, run: (impl, ctx) => echo(impl, ctx, 64) },
  { name: 'oneway', impls: NET, run: (impl, ctx) => oneWay(impl, ctx, SMALL, ctx.settings.onewayBurst, 'oneway') },
  { name: 'bulk', impls: NET, run: (impl, ctx) => oneWay(impl, ctx, LARGE, ctx.settings.bulkBurst, 'bulk_mbps') },
  { name: 'relay', impls: EGTP, run: relayed },
  { name: 'idle', impls: NET, rounds: s => s.idleRounds, run: idle },
  {
    name: 'aead',
    impls: ['aead-node', 'aead-sodium'],
    run: async (impl, ctx) => {
      await new Promise(resolve => setImmediate(resolve))
      const ms = ctx.settings.measureMs / 2
      return { aead64_ops: measureAead(impl, 64, ms), aead64k_mbps: measureAead(impl, 64 * 1024, ms) * 64 * 1024 / 1e6 }
    }
  }
]
