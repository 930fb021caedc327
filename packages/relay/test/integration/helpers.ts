import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Endpoint, Transport } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import type { TcpInit } from '@egtp/tcp'
import { relayClient, relayServer } from '../../src/index.ts'
import type { RelayClient, RelayClientInit, RelayServer, RelayServerInit } from '../../src/index.ts'
import { registered, until } from '../helpers/setup.ts'
import type { Cleanup } from '../helpers/setup.ts'

/** A real TCP transport on 127.0.0.1, stopped with the test. */
export function tcpTransport (cleanup: Cleanup, init: TcpInit = {}): Transport {
  const t = tcp({ maxConnections: 4096, maxInboundPerAddress: 4096, ...init })()
  cleanup(() => t.stop())
  return t
}

export async function tcpServer (cleanup: Cleanup, init: RelayServerInit = {}, identity: NodeIdentity = generateIdentity()): Promise<RelayServer> {
  const server = relayServer({ sweepIntervalMs: 20, ...init })({ transport: tcpTransport(cleanup), identity })
  await server.start()
  cleanup(() => server.stop())
  return server
}

export async function tcpClient (cleanup: Cleanup, init: RelayClientInit = {}, identity: NodeIdentity = generateIdentity()): Promise<RelayClient> {
  const client = relayClient({ reconnectMinMs: 10, reconnectMaxMs: 200, ...init })({ transport: tcpTransport(cleanup), identity })
  await client.start()
  cleanup(() => client.stop())
  return client
}

/** A client registered with `server`; when `away`, it registers once, stops, and the server saw it go. */
export async function registeredTcpClient (cleanup: Cleanup, server: RelayServer, identity: NodeIdentity = generateIdentity(), away = false): Promise<RelayClient> {
  const client = await tcpClient(cleanup, { relays: [server.endpoint()] }, identity)
  await registered(client)
  if (away) {
    await client.stop()
    await until(() => server.stats().connectedClients === 0)
  }
  return client
}

/** What the node does with a peer's endpoints: try each in turn until one accepts. */
export async function sendToAny (client: RelayClient, peerId: string, endpoints: Endpoint[], frame: Uint8Array): Promise<Endpoint> {
  let last: unknown
  for (const e of endpoints) {
    try {
      await client.send(peerId, e, frame)
      return e
    } catch (err) {
      last = err
    }
  }
  throw last
}
