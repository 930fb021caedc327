// The soak's world: the network (netns.ts) and every program in it: 2 durable relays, 2 metatrackers with
// state directories, a signed bootpage served over HTTP, and the nodes (some with a public address, some
// behind a NAT router reached through the relays). Starts, kills and restarts them.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBootpage } from '@egtp/bootpage'
import { decodeContactRecord, generateIdentity } from '@egtp/identity'
import { Network } from './netns.ts'
import { SoakProcess } from './processes.ts'

const here = fileURLToPath(new URL('.', import.meta.url))
const repo = resolve(here, '../../..')
export const RELAY_APP = join(repo, 'apps/relay/dist/main.js')
export const NODE_APP = join(repo, 'apps/node/dist/main.js')
/** The one-way message type egtp-node prints when it arrives (its `run` handler): what app nodes receive. */
export const APP_TEXT_TYPE = 'text'
export const TRACKER_APP = join(repo, 'apps/metatracker/dist/main.js')
const SOAK_NODE = join(here, 'soak-node.js')
const SERVE_FILE = join(here, 'serve-file.js')
const SKEWED_CLOCK = join(here, 'skewed-clock.js')
const PROBE = join(here, 'probe.js')
const DELAY_PROXY = join(here, 'delay-proxy.js')
/** Relay 1 sits behind a delaying proxy (relay 0 does not): its path is always slower, by this much (ms). */
export const SLOW_RELAY_DELAY_MS: readonly [number, number] = [20, 80]
const SLOW_RELAY_BACKEND_PORT = 7101
const PROBE_PORT = 7999

export const NODE_PORT = 7000
export const RELAY_PORT = 7100
export const TRACKER_PORT = 7200
export const BOOTPAGE_PORT = 8080
const BOOTPAGE_LIFETIME_MS = 86_400_000

export interface NodeSlot {
  index: number
  host: string
  direct: boolean
  dataDir: string
  nodeId: string
  proc?: SoakProcess
  /** Set while a graceful stop is under way: the traffic leaves it alone. */
  stopping: boolean
  skewMs: number
  /** Runs egtp-node (`apps/node`, `run --json --bootpage …`) instead of the soak's node. */
  app: boolean
}

interface Service { host: string, dataDir: string, nodeId: string, proc?: SoakProcess }

export interface WorldInit {
  workDir: string
  directNodes: number
  natNodes: number
  /** Indices of the nodes that run egtp-node. */
  appNodes: readonly number[]
  log: (line: string) => void
}

export class World {
  readonly net = new Network()
  readonly nodes: NodeSlot[] = []
  readonly relays: Service[] = []
  readonly trackers: Service[] = []
  readonly publicHosts: string[] = []
  /** What the egtp-node processes printed as received: their side of the ledger (the soak's nodes write files). */
  readonly appHandled: Array<{ id: string, node: number, peerId: string }> = []
  readonly #init: WorldInit
  #bootUrl = ''
  #bootKey = ''
  #boot: SoakProcess | undefined
  #proxy: SoakProcess | undefined
  #moves = 0

  constructor (init: WorldInit) {
    this.#init = init
  }

  /** Builds the network and starts relays, trackers, the bootpage and every node. */
  async build (): Promise<void> {
    const net = this.net
    net.createSwitch()
    net.addPublicHost('boot', 5)
    for (let i = 0; i < 2; i++) { net.addPublicHost(`rly${i}`, 11 + i); this.publicHosts.push(`rly${i}`) }
    for (let i = 0; i < 2; i++) { net.addPublicHost(`trk${i}`, 21 + i); this.publicHosts.push(`trk${i}`) }
    const { directNodes, natNodes } = this.#init
    for (let i = 0; i < directNodes; i++) { net.addPublicHost(`n${i}`, 101 + i); this.publicHosts.push(`n${i}`) }
    const routers = ['nat0', 'nat1']
    routers.forEach((r, k) => { net.addRouter(r, 2 + k, `192.168.${77 + k}`); this.publicHosts.push(r) })
    for (let j = 0; j < natNodes; j++) net.addPrivateHost(`n${directNodes + j}`, routers[j % 2]!, 10 + j)

    if (natNodes > 0) await this.#proveNat('n0', `n${directNodes}`)
    // Trackers first: relays publish their records to them, and nodes with `--relay auto` find relays there.
    await Promise.all([0, 1].map(async i => { await this.startTracker(i) }))
    await this.#serveBootpage()
    await Promise.all([0, 1].map(async i => { await this.startRelay(i) }))
    for (let i = 0; i < directNodes + natNodes; i++) {
      this.nodes.push({ index: i, host: `n${i}`, direct: i < directNodes, dataDir: this.#dir(`node${i}`), nodeId: '', stopping: false, skewMs: 0, app: this.#init.appNodes.includes(i) })
    }
    await Promise.all(this.nodes.map(async n => { await this.startNode(n.index) }))
  }

  /**
   * Before anything runs on it, the NAT must behave as a home router: the private host reaches the public one
   * and is seen there as its router's address; the public host cannot open a connection to the private one.
   */
  async #proveNat (publicName: string, privateName: string): Promise<void> {
    const pub = this.net.hosts.get(publicName)!
    const priv = this.net.hosts.get(privateName)!
    const router = this.net.hosts.get(priv.router!)!
    const servers = [new SoakProcess('probe', pub.ns, [PROBE, 'listen', pub.ip, String(PROBE_PORT)]), new SoakProcess('probe', priv.ns, [PROBE, 'listen', priv.ip, String(PROBE_PORT)])]
    try {
      await Promise.all(servers.map(async s => await s.ready))
      const out = await new SoakProcess('probe', priv.ns, [PROBE, 'connect', pub.ip, String(PROBE_PORT), '2000']).ready
      if (out.connected !== true || out.seenAs !== router.ip) throw new Error(`NAT check: ${privateName} → ${publicName} gave ${JSON.stringify(out)}, expected a connection seen as ${router.ip}`)
      // Even given a route to the private LAN through the router, the router lets nothing unsolicited in.
      const lan = `${priv.ip.replace(/\.\d+$/, '')}.0/24`
      this.net.route(publicName, lan, router.ip)
      let inbound: Record<string, unknown>
      try {
        inbound = await new SoakProcess('probe', pub.ns, [PROBE, 'connect', priv.ip, String(PROBE_PORT), '1000']).ready
      } finally {
        this.net.route(publicName, lan, router.ip, true)
      }
      if (inbound.connected !== false) throw new Error(`NAT check: ${publicName} opened a connection to ${privateName} behind NAT`)
      this.#init.log(`NAT checked: ${privateName} reaches ${publicName} as ${router.ip}; ${publicName} → ${privateName} refused (${String(inbound.why)}, with a route to the LAN through the router)`)
    } finally {
      await Promise.all(servers.map(async s => { await s.stop() }))
    }
  }

  #dir (name: string): string {
    const d = join(this.#init.workDir, name)
    mkdirSync(d, { recursive: true, mode: 0o700 })
    return d
  }

  async startRelay (i: number): Promise<void> {
    const host = `rly${i}`
    const s = this.relays[i] ?? (this.relays[i] = { host, dataDir: this.#dir(host), nodeId: '' })
    const ip = this.net.hosts.get(host)!.ip
    const ns = this.net.hosts.get(host)!.ns
    // Relay 1 listens on loopback and announces the proxy's public address.
    const listen = i === 1 ? ['--listen', `127.0.0.1:${SLOW_RELAY_BACKEND_PORT}`, '--announce', `${ip}:${RELAY_PORT}`] : ['--listen', `${ip}:${RELAY_PORT}`]
    const trackers = this.trackers.flatMap(t => ['--tracker', (t as Service & { record?: string }).record!])
    s.proc = new SoakProcess(host, ns, [RELAY_APP, ...listen, '--data-dir', s.dataDir, '--key-file', join(s.dataDir, 'key'), ...trackers])
    s.nodeId = (await s.proc.ready).nodeId as string
    if (i === 1 && this.#proxy === undefined) {
      this.#proxy = new SoakProcess('proxy', ns, [DELAY_PROXY, ip, String(RELAY_PORT), '127.0.0.1', String(SLOW_RELAY_BACKEND_PORT), ...SLOW_RELAY_DELAY_MS.map(String)])
      await this.#proxy.ready
    }
  }

  async startTracker (i: number): Promise<void> {
    const host = `trk${i}`
    const s = this.trackers[i] ?? (this.trackers[i] = { host, dataDir: this.#dir(host), nodeId: '' })
    const h = this.net.hosts.get(host)!
    s.proc = new SoakProcess(host, h.ns, [TRACKER_APP, '--listen', `${h.ip}:${TRACKER_PORT}`, '--state-dir', s.dataDir])
    const ready = await s.proc.ready
    s.nodeId = ready.nodeId as string
    ;(s as Service & { record?: string }).record = ready.record as string
  }

  async #serveBootpage (): Promise<void> {
    const signer = generateIdentity()
    const records = this.trackers.map(t => decodeContactRecord(Buffer.from((t as Service & { record?: string }).record!, 'base64')))
    const file = join(this.#dir('boot'), 'bootpage.json')
    writeFileSync(file, createBootpage(signer, { records, expiresAt: Date.now() + BOOTPAGE_LIFETIME_MS }))
    const h = this.net.hosts.get('boot')!
    this.#boot = new SoakProcess('boot', h.ns, [SERVE_FILE, file, h.ip, String(BOOTPAGE_PORT)])
    await this.#boot.ready
    this.#bootUrl = `http://${h.ip}:${BOOTPAGE_PORT}/bootpage.json`
    this.#bootKey = signer.nodeId
  }

  async startNode (index: number, skewMs = 0): Promise<void> {
    const n = this.nodes[index]!
    const h = this.net.hosts.get(n.host)!
    const boot = ['--bootpage', this.#bootUrl, '--bootpage-key', this.#bootKey]
    const argv = n.app ? [NODE_APP, 'run', '--state-dir', n.dataDir, '--json', ...boot] : [SOAK_NODE, '--data-dir', n.dataDir, ...boot]
    if (n.direct) argv.push('--listen', `${h.ip}:${NODE_PORT}`)
    else if (n.app) argv.push('--relay', 'auto') // egtp-node behind NAT finds its relays through the trackers
    else {
      // Half the nodes behind NAT prefer the slow relay: senders then use both paths, and messages overtake.
      const relays = index % 2 === 0 ? this.relays : [...this.relays].reverse()
      for (const r of relays) argv.push('--relay', `${r.nodeId}@${this.net.hosts.get(r.host)!.ip}:${RELAY_PORT}`)
    }
    const pre = skewMs !== 0 ? ['--import', SKEWED_CLOCK] : []
    n.skewMs = skewMs
    const proc = new SoakProcess(n.host, h.ns, [...pre, ...argv], skewMs !== 0 ? { EGTP_CLOCK_OFFSET_MS: String(skewMs) } : {})
    n.proc = proc
    if (n.app) {
      // egtp-node prints each text message it receives, synchronously, before its handler returns.
      proc.lineListeners.push((msg) => {
        if (msg.event === 'message' && msg.type === APP_TEXT_TYPE && typeof msg.payload === 'string' && typeof msg.from === 'string') {
          this.appHandled.push({ id: msg.payload, node: index, peerId: msg.from })
        }
      })
    }
    const ready = await proc.ready
    n.nodeId = ready.nodeId as string
    n.stopping = false
  }

  /** Sets the slow relay's delay (ms); `undefined` puts back its usual {@link SLOW_RELAY_DELAY_MS}. */
  async setRelayDelay (range?: readonly [number, number]): Promise<void> {
    const [minMs, maxMs] = range ?? SLOW_RELAY_DELAY_MS
    await this.#proxy?.call({ op: 'delay', minMs, maxMs })
  }

  /** Up and taking commands. */
  isUp (index: number): boolean {
    const n = this.nodes[index]!
    return n.proc !== undefined && !n.proc.exited && !n.stopping && n.nodeId !== ''
  }

  async stopNode (index: number): Promise<void> {
    const n = this.nodes[index]!
    n.stopping = true
    await n.proc?.stop()
  }

  killNode (index: number): void {
    const n = this.nodes[index]!
    n.stopping = true
    n.proc?.kill9()
  }

  async restartNode (index: number, skewMs = 0): Promise<void> {
    await this.stopNode(index)
    await this.startNode(index, skewMs)
  }

  /** A direct node stops, its host takes a new address, and it starts again listening there. */
  async moveNode (index: number): Promise<void> {
    await this.stopNode(index)
    this.net.moveAddress(this.nodes[index]!.host, 150 + (this.#moves++ % 100))
    await this.startNode(index, this.nodes[index]!.skewMs)
  }

  async restartService (kind: 'relay' | 'tracker', i: number, hard: boolean): Promise<void> {
    const s = (kind === 'relay' ? this.relays : this.trackers)[i]!
    if (hard) {
      s.proc?.kill9()
      await new Promise<void>(resolve => { if (s.proc?.exited !== false) resolve(); else s.proc.child.once('exit', () => { resolve() }) })
    } else {
      await s.proc?.stop()
    }
    if (kind === 'relay') await this.startRelay(i)
    else await this.startTracker(i)
  }

  /** Every program of the world, for memory samples. */
  processes (): SoakProcess[] {
    return [...this.nodes, ...this.relays, ...this.trackers, { proc: this.#proxy }].flatMap(x => x.proc !== undefined && !x.proc.exited ? [x.proc] : [])
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.nodes.map(async n => { await this.stopNode(n.index) }))
    await Promise.all([...this.relays, ...this.trackers].map(async s => { await s.proc?.stop() }))
    await this.#boot?.stop()
    await this.#proxy?.stop()
  }
}
