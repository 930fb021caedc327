// The node's connect(peer) and disconnect(peer) through a real relay on 127.0.0.1, between two relay-only
// nodes (neither listens, so the relay is the only path both ways).
import { isEgtpError } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { until } from '../helpers/setup.ts'
import { tcpServer } from './helpers.ts'
import { memoryDirectory, persisted, startRelayOnlyNode } from './nodes.ts'
import type { EgtpNode } from './nodes.ts'

describe('connect through a relay', () => {
  test('connect sets up the session through the relay; later messages need no handshake; disconnect keeps the shared relay connection', async ({ onTestFinished }) => {
    const relay = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const setup = (node: EgtpNode): void => { node.handle('echo', (p) => p) }
    const a = (await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), setup)).node
    const b = (await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), setup)).node

    const info = await a.connect(b.nodeId, { timeoutMs: 5000 })
    expect(info).toMatchObject({ peerId: b.nodeId, handshake: true, path: 'relay' })
    expect(info.rttMs).toBeGreaterThanOrEqual(0)
    expect(a.stats().handshakes).toBe(1)
    expect(await a.query(b.nodeId, 'echo', 1)).toBe(1)
    expect(await b.query(a.nodeId, 'echo', 2)).toBe(2)
    expect(a.stats().handshakes).toBe(1)
    expect(b.stats().handshakes).toBe(1)
    expect((await a.connect(b.nodeId)).handshake).toBe(false)

    // The relay connection carries other peers too: disconnect ends the session only.
    expect(await a.disconnect(b.nodeId)).toBe(0)
    expect(relay.stats().connectedClients).toBe(2)
    expect(await a.query(b.nodeId, 'echo', 3)).toBe(3)
    expect(a.stats().handshakes).toBe(2)
    await until(() => relay.stats().queuedMessages === 0)
  })

  test('a relay-only peer that is not registered with its relay: ERR_UNREACHABLE', async ({ onTestFinished }) => {
    const relay = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const a = (await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), () => {})).node
    const gone = await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), () => {})
    await gone.crash()
    const err = await a.connect(gone.node.nodeId, { timeoutMs: 1500 }).catch((e: unknown) => e)
    // The relay refuses a recipient it does not know: the node's fast fail (look up again, try once more) says so.
    expect(isEgtpError(err, 'ERR_UNREACHABLE'), String(err)).toBe(true)
  })
})
