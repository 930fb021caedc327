// A message a relay accepted but had not confirmed when it went away: once the client knows the connection
// closed, the send fails at once as a failure of that endpoint, and the node goes on to the peer's next relay
// instead of waiting for the relay's confirmation deadline (sendTimeoutMs).
import { createContactRecord } from '@egtp/identity'
import type { Transport } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { relayCodec, relayServer } from '../../src/index.ts'
import type { RelayServer } from '../../src/index.ts'
import type { Cleanup } from '../helpers/setup.ts'
import { registered, text, until } from '../helpers/setup.ts'
import { tcpClient, tcpServer, tcpTransport } from './helpers.ts'
import { memoryDirectory, persisted, startRelayOnlyNode } from './nodes.ts'

/** A real relay on TCP that takes messages but never confirms them (its `ry` frames are not written). */
async function unconfirmingRelay (cleanup: Cleanup): Promise<RelayServer> {
  const inner = tcpTransport(cleanup)
  const transport: Transport = {
    dial: async (e, o) => await inner.dial(e, o),
    listen: async (e, o) => {
      const listener = await inner.listen(e, o)
      // Registered before the server's own listener: every connection's send is wrapped before it is used.
      listener.addEventListener('connection', ({ detail: conn }) => {
        const send = conn.send.bind(conn)
        conn.send = async (frame) => {
          const bytes = frame instanceof Uint8Array ? frame : undefined
          if (bytes !== undefined && relayCodec.decode(bytes).t === 'ry') return
          await send(frame)
        }
      })
      return listener
    }
  }
  const server = relayServer({ sweepIntervalMs: 20 })({ transport, identity: (await import('@egtp/identity')).generateIdentity() })
  await server.start()
  cleanup(() => server.stop())
  return server
}

describe('a relay that goes away before confirming', () => {
  test('the relay client fails the unconfirmed send at once, as a failure of that endpoint', async ({ onTestFinished }) => {
    const r1 = await unconfirmingRelay(onTestFinished)
    const bKeys = persisted()
    const b = await tcpClient(onTestFinished, { relays: [r1.endpoint()] }, bKeys.identity)
    await registered(b)
    // The confirmation deadline is far away: only the known close can end the wait.
    const a = await tcpClient(onTestFinished, { register: false, sendTimeoutMs: 600_000 })
    const sent = a.send(bKeys.identity.nodeId, r1.endpoint(), text('x')).then(() => undefined, (err: unknown) => err)
    await until(() => r1.stats().accepted === 1, 5000, 'the relay taking the message')
    await r1.stop()
    const err = await sent
    expect(err).toMatchObject({ code: 'ERR_UNREACHABLE', retryable: true, scope: 'endpoint' })
  })

  test('the node sends through the peer\'s next relay at once, well within a query deadline shorter than the relay client\'s', async ({ onTestFinished }) => {
    const r1 = await unconfirmingRelay(onTestFinished)
    const r2 = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const bKeys = persisted()
    // B has a mailbox at R1 (registered once, now away) and is connected to R2; its record names R1 first.
    const away = await tcpClient(onTestFinished, { relays: [r1.endpoint()] }, bKeys.identity)
    await registered(away)
    await away.stop()
    await until(() => r1.stats().connectedClients === 0)
    const a = (await startRelayOnlyNode(onTestFinished, r2, directory, persisted(), () => {})).node
    const b = (await startRelayOnlyNode(onTestFinished, r2, directory, bKeys, node => { node.handle('whoami', (_p, ctx) => ctx.peerId) })).node
    a.addContact(createContactRecord(bKeys.identity, {
      seq: b.contactRecord()!.seq + 1000,
      expiresAt: Date.now() + 3_600_000,
      endpoints: [r1.endpoint(), r2.endpoint()]
    }))
    // The relay client would wait 10 s (its default sendTimeoutMs) for R1's confirmation; the query allows 5 s.
    const answer = a.query(b.nodeId, 'whoami', null, { timeoutMs: 5_000 })
    await until(() => r1.stats().accepted >= 1, 5000, 'R1 taking the query')
    await r1.stop()
    expect(await answer).toBe(a.nodeId)
    expect(r2.stats().accepted).toBeGreaterThanOrEqual(1)
  })
})
