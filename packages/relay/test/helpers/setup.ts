import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Clock, InboundFrame, Transport } from '@egtp/interface'
import { relayClient, relayServer } from '../../src/index.ts'
import type { RelayClient, RelayClientInit, RelayServer, RelayServerInit } from '../../src/index.ts'

export type Cleanup = (fn: () => Promise<void> | void) => void

export async function startServer (transport: Transport, cleanup: Cleanup, init: RelayServerInit = {}, identity: NodeIdentity = generateIdentity(), clock?: Clock): Promise<RelayServer> {
  const server = relayServer({ sweepIntervalMs: 20, ...init })({ transport, identity, ...(clock === undefined ? {} : { clock }) })
  await server.start()
  cleanup(() => server.stop())
  return server
}

export async function startClient (transport: Transport, cleanup: Cleanup, init: RelayClientInit = {}, identity: NodeIdentity = generateIdentity()): Promise<RelayClient> {
  const client = relayClient({ reconnectMinMs: 10, reconnectMaxMs: 200, ...init })({ transport, identity })
  await client.start()
  cleanup(() => client.stop())
  return client
}

/** A relay server on `net` (with `init`, on `clock`) and client B registered with it (B's identity returned too). */
export async function serverWithClient (net: { transport: () => Transport }, cleanup: Cleanup, init: RelayServerInit = {}, clock?: Clock): Promise<{ server: RelayServer, bId: NodeIdentity, b: RelayClient }> {
  const server = await startServer(net.transport(), cleanup, init, generateIdentity(), clock)
  const bId = generateIdentity()
  const b = await startClient(net.transport(), cleanup, { relays: [server.endpoint()] }, bId)
  await registered(b)
  return { server, bId, b }
}

/** Resolves once `client` advertises at least `n` relay endpoints. */
export async function registered (client: RelayClient, n = 1, timeoutMs = 5000): Promise<void> {
  await until(() => client.localEndpoints().length >= n, timeoutMs, `registration with ${n} relay(s)`)
}

export async function until (cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** Collects inbound frames of a client. */
export function collect (client: RelayClient): InboundFrame[] {
  const frames: InboundFrame[] = []
  client.addEventListener('frame', ({ detail }) => { frames.push(detail) })
  return frames
}

export const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill)
export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)
