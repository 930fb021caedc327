// The soak's network: Linux network namespaces joined by veth pairs to a bridge (the "public" segment,
// 10.77.0.0/24), and home routers that masquerade a private LAN (192.168.7x.0/24) and refuse inbound
// connections as a home router does. Faults are iptables rules in a SOAK chain of each namespace. Every name
// carries a per-run prefix; `teardown` (and `removeLeftovers` of a later run) deletes all of it.
import { execFileSync } from 'node:child_process'

export const NS_BASE = 'egtps'
export const PUBLIC_NET = '10.77.0'

export interface Host {
  /** Short name, unique in the run (e.g. `n3`, `rly0`, `nat1`). */
  name: string
  ns: string
  ip: string
  /** For a host behind NAT: the router's short name. */
  router?: string
}

function ip (args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function nsExec (ns: string, cmd: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Namespaces of earlier runs whose process is gone (killed before it could tear down). */
export function removeLeftovers (): string[] {
  const removed: string[] = []
  let list = ''
  try { list = ip(['netns', 'list']) } catch { return removed }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const m = new RegExp(`^${NS_BASE}(\\d+)-`).exec(name)
    if (m === null) continue
    let alive = true
    try { process.kill(Number(m[1]), 0) } catch { alive = false }
    if (alive && Number(m[1]) !== process.pid) continue
    deleteNamespace(name)
    removed.push(name)
  }
  return removed
}

function deleteNamespace (ns: string): void {
  try {
    for (const pid of ip(['netns', 'pids', ns]).split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL') } catch { /* already gone */ }
    }
  } catch { /* no such namespace */ }
  try { ip(['netns', 'del', ns]) } catch { /* already deleted */ }
}

/** iptables rules of one fault, removable as a unit. */
interface RuleSet { ns: string, rules: string[][] }

export class Network {
  readonly prefix = `${NS_BASE}${process.pid}-`
  readonly hosts = new Map<string, Host>()
  readonly #namespaces: string[] = []
  readonly #faults = new Map<number, RuleSet[]>()
  readonly #lans = new Map<string, string>()
  #nextFault = 1
  #portCount = 0

  readonly pubNs = `${this.prefix}pub`

  /** The public segment: a bridge inside its own namespace (a switch nobody runs processes in). */
  createSwitch (): void {
    this.#addNs(this.pubNs)
    ip(['-n', this.pubNs, 'link', 'add', 'br0', 'type', 'bridge'])
    ip(['-n', this.pubNs, 'link', 'set', 'br0', 'up'])
  }

  addPublicHost (name: string, hostByte: number): Host {
    const host: Host = { name, ns: `${this.prefix}${name}`, ip: `${PUBLIC_NET}.${hostByte}` }
    this.#addNs(host.ns)
    this.#plug(host.ns, 'eth0', this.pubNs, 'br0', `${host.ip}/24`)
    this.#firewall(host.ns)
    this.hosts.set(name, host)
    return host
  }

  /** A home router on the public segment masquerading `lan`.0/24 (e.g. `192.168.77`); inbound refused. */
  addRouter (name: string, hostByte: number, lan: string): Host {
    const host = this.addPublicHost(name, hostByte)
    this.#lans.set(name, lan)
    ip(['-n', host.ns, 'link', 'add', 'lan0', 'type', 'bridge'])
    ip(['-n', host.ns, 'addr', 'add', `${lan}.1/24`, 'dev', 'lan0'])
    ip(['-n', host.ns, 'link', 'set', 'lan0', 'up'])
    nsExec(host.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    nsExec(host.ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE'])
    nsExec(host.ns, ['iptables', '-A', 'FORWARD', '-i', 'eth0', '-o', 'lan0', '-m', 'state', '--state', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'])
    nsExec(host.ns, ['iptables', '-A', 'FORWARD', '-i', 'eth0', '-o', 'lan0', '-j', 'DROP'])
    return host
  }

  addPrivateHost (name: string, router: string, hostByte: number): Host {
    const r = this.#host(router)
    const lan = this.#lans.get(router)
    if (lan === undefined) throw new Error(`${router} is not a router`)
    const host: Host = { name, ns: `${this.prefix}${name}`, ip: `${lan}.${hostByte}`, router }
    this.#addNs(host.ns)
    this.#plug(host.ns, 'eth0', r.ns, 'lan0', `${host.ip}/24`)
    ip(['-n', host.ns, 'route', 'add', 'default', 'via', `${lan}.1`])
    this.#firewall(host.ns)
    this.hosts.set(name, host)
    return host
  }

  /** Adds (or with `remove`, deletes) a route on a host: lets the NAT check aim straight at a private LAN. */
  route (name: string, cidr: string, via: string, remove = false): void {
    ip(['-n', this.#host(name).ns, 'route', remove ? 'del' : 'add', cidr, 'via', via])
  }

  /** A host takes another public address (the old one is gone: connections to it fail). */
  moveAddress (name: string, newHostByte: number): Host {
    const h = this.#host(name)
    const next = `${PUBLIC_NET}.${newHostByte}`
    // The old address goes first: deleting a subnet's primary address would take its secondaries with it.
    ip(['-n', h.ns, 'addr', 'del', `${h.ip}/24`, 'dev', 'eth0'])
    ip(['-n', h.ns, 'addr', 'add', `${next}/24`, 'dev', 'eth0'])
    h.ip = next
    return h
  }

  /** Drops everything on the host's link. Returns the fault's handle for `clear`. */
  cut (name: string): number {
    const h = this.#host(name)
    return this.#apply([{ ns: h.ns, rules: [['-i', 'eth0', '-j', 'DROP'], ['-o', 'eth0', '-j', 'DROP']] }])
  }

  loss (name: string, probability: number): number {
    const h = this.#host(name)
    const stat = ['-m', 'statistic', '--mode', 'random', '--probability', probability.toFixed(2), '-j', 'DROP']
    return this.#apply([{ ns: h.ns, rules: [['-i', 'eth0', ...stat], ['-o', 'eth0', ...stat]] }])
  }

  /** Hosts in `side` lose all traffic with public hosts not in it (hosts behind a router follow the router). */
  partition (side: readonly string[], publicHosts: readonly string[]): number {
    const others = publicHosts.filter(h => !side.includes(h)).map(h => this.#host(h).ip)
    return this.#apply(side.map(name => ({
      ns: this.#host(name).ns,
      rules: others.flatMap(x => [['-s', x, '-j', 'DROP'], ['-d', x, '-j', 'DROP']])
    })))
  }

  clear (fault: number): void {
    for (const set of this.#faults.get(fault) ?? []) {
      for (const rule of set.rules) {
        try { nsExec(set.ns, ['iptables', '-D', 'SOAK', ...rule]) } catch { /* its namespace is gone */ }
      }
    }
    this.#faults.delete(fault)
  }

  clearAll (): void {
    for (const id of [...this.#faults.keys()]) this.clear(id)
  }

  /** Kills every process left in the run's namespaces and deletes them (with their links and bridges). */
  teardown (): void {
    for (const ns of this.#namespaces.reverse()) deleteNamespace(ns)
    this.#namespaces.length = 0
  }

  #apply (sets: RuleSet[]): number {
    const id = this.#nextFault++
    this.#faults.set(id, sets)
    for (const set of sets) for (const rule of set.rules) nsExec(set.ns, ['iptables', '-A', 'SOAK', ...rule])
    return id
  }

  #host (name: string): Host {
    const h = this.hosts.get(name)
    if (h === undefined) throw new Error(`no host ${name}`)
    return h
  }

  #addNs (ns: string): void {
    ip(['netns', 'add', ns])
    this.#namespaces.push(ns)
    ip(['-n', ns, 'link', 'set', 'lo', 'up'])
  }

  /** A veth pair made inside the namespaces themselves: nothing appears in the root namespace. */
  #plug (ns: string, dev: string, switchNs: string, bridge: string, cidr: string): void {
    const port = `p${++this.#portCount}`
    ip(['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', port, 'netns', switchNs])
    ip(['-n', switchNs, 'link', 'set', port, 'master', bridge, 'up'])
    ip(['-n', ns, 'addr', 'add', cidr, 'dev', dev])
    ip(['-n', ns, 'link', 'set', dev, 'up'])
  }

  /** A SOAK chain every packet in, out and through the namespace passes. */
  #firewall (ns: string): void {
    nsExec(ns, ['iptables', '-N', 'SOAK'])
    for (const chain of ['INPUT', 'OUTPUT', 'FORWARD']) nsExec(ns, ['iptables', '-I', chain, '1', '-j', 'SOAK'])
  }
}
