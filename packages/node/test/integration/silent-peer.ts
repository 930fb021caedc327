import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { createContactRecord, generateIdentity } from '@egtp/identity'
import type { MemoryDirectory } from '../../src/index.ts'

/**
 * A TCP listener on 127.0.0.1 that accepts and reads but never answers, published in `dir` as a fresh node's
 * record: frames to it leave this machine and are never acknowledged. Returns its node ID.
 */
export async function silentPeer (dir: MemoryDirectory, cleanup: (fn: () => Promise<void>) => void): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer(s => {
    sockets.add(s)
    s.on('data', () => {})
    s.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanup(async () => {
    for (const s of sockets) s.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  const identity = generateIdentity()
  const { port } = server.address() as AddressInfo
  await dir.announce(createContactRecord(identity, { seq: 1, expiresAt: Date.now() + 60_000, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port }], services: [] }))
  return identity.nodeId
}
