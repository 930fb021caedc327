// Loads the EGTP packages the bench drives: by name from this workspace (the default), or from the built
// packages of another checkout (`--egtp-from <dir>` / `--compare-egtp <dir>`: a git worktree built with
// `pnpm build`), through each package's own `exports` map, so two EGTP versions can run in one process tree.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

type NodeModule = typeof import('@egtp/node')
type TcpModule = typeof import('@egtp/tcp')
type IdentityModule = typeof import('@egtp/identity')
type RelayClientModule = typeof import('@egtp/relay/client')
type RelayServerModule = typeof import('@egtp/relay/server')

export interface EgtpApi {
  /** Where the packages came from (`workspace` or the checkout's directory). */
  from: string
  createNode: NodeModule['createNode']
  DEFAULT_MAX_UNACKED_PER_PEER: number
  tcp: TcpModule['tcp']
  generateIdentity: IdentityModule['generateIdentity']
  encodeContactRecord: IdentityModule['encodeContactRecord']
  decodeContactRecord: IdentityModule['decodeContactRecord']
  relayClient: RelayClientModule['relayClient']
  relayServer: RelayServerModule['relayServer']
  RELAY_NODE_FLAGS: readonly string[]
}

type ExportTarget = string | { default?: string, import?: string } | undefined

/** The file `pkg`'s `exports[subpath]` maps to in the checkout at `dir` (its built `dist`). */
export function resolveInCheckout (dir: string, pkg: string, subpath = '.'): string {
  const pkgDir = join(resolve(dir), 'packages', pkg)
  const manifest = join(pkgDir, 'package.json')
  if (!existsSync(manifest)) throw new Error(`${manifest} not found: --egtp-from/--compare-egtp expects the root of an EGTP checkout`)
  const exportsMap = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, ExportTarget> }).exports ?? {}
  const target = exportsMap[subpath]
  const rel = typeof target === 'string' ? target : target?.default ?? target?.import
  if (rel === undefined) throw new Error(`${manifest} exports no ${subpath}`)
  const file = join(pkgDir, rel)
  if (!existsSync(file)) throw new Error(`${file} is missing: build that checkout first (pnpm install && pnpm build)`)
  return file
}

export async function loadEgtp (from?: string): Promise<EgtpApi> {
  const load = async <T>(pkg: string, subpath: string, byName: () => Promise<T>): Promise<T> =>
    from === undefined ? await byName() : await import(pathToFileURL(resolveInCheckout(from, pkg, subpath)).href) as T
  const node = await load<NodeModule>('node', '.', () => import('@egtp/node'))
  const tcp = await load<TcpModule>('tcp', '.', () => import('@egtp/tcp'))
  const identity = await load<IdentityModule>('identity', '.', () => import('@egtp/identity'))
  const client = await load<RelayClientModule>('relay', './client', () => import('@egtp/relay/client'))
  const server = await load<RelayServerModule>('relay', './server', () => import('@egtp/relay/server'))
  return {
    from: from === undefined ? 'workspace' : resolve(from),
    createNode: node.createNode,
    // DEFAULT_LIMITS is in the root exports of every version (the DEFAULT_* constants moved to /defaults).
    DEFAULT_MAX_UNACKED_PER_PEER: node.DEFAULT_LIMITS.maxUnackedPerPeer,
    tcp: tcp.tcp,
    generateIdentity: identity.generateIdentity,
    encodeContactRecord: identity.encodeContactRecord,
    decodeContactRecord: identity.decodeContactRecord,
    relayClient: client.relayClient,
    relayServer: server.relayServer,
    RELAY_NODE_FLAGS: server.RELAY_NODE_FLAGS
  }
}
