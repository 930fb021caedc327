// The TCP listener the raw and Hyperswarm servers share: 127.0.0.1, a free port, limits lifted to the bench's.
import type { AddressInfo, Server } from 'node:net'
import type { ServerHandle } from './types.ts'

export async function listenLoopback (server: Server, maxPeers: number, open: Set<{ destroy: () => void }>, receivedBytes: () => number): Promise<ServerHandle> {
  server.maxConnections = maxPeers + 100
  await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve))
  const { port } = server.address() as AddressInfo
  return {
    address: { host: '127.0.0.1', port },
    receivedBytes,
    stop: async () => {
      for (const s of open) s.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
