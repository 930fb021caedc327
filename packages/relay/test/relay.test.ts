import { generateIdentity } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { MemoryNetwork } from './helpers/memory-transport.ts'
import { collect, registered, startClient, startServer, str, text, until } from './helpers/setup.ts'

describe('relay over an in-memory transport', () => {
  test('a message is pushed to a connected client, acknowledged, and the reply travels back', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    expect(b.localEndpoints()).toEqual([server.endpoint()])
    const aId = generateIdentity()
    const a = await startClient(net.transport(), onTestFinished, { register: false }, aId)
    const atB = collect(b)
    const atA = collect(a)
    await a.send(bId.nodeId, b.localEndpoints()[0]!, text('query'))
    await until(() => atB.length === 1)
    expect(str(atB[0]!.frame)).toBe('query')
    expect(atB[0]!.path.kind).toBe('relay')
    expect(atB[0]!.path.authenticatedSender).toBe(aId.nodeId)
    await atB[0]!.path.reply(text('response'))
    await until(() => atA.length === 1)
    expect(str(atA[0]!.frame)).toBe('response')
    expect(atA[0]!.path.authenticatedSender).toBe(bId.nodeId)
    await until(() => server.stats().queuedMessages === 0)
    expect(server.stats()).toMatchObject({ accepted: 2, delivered: 2, queuedBytes: 0 })
  })
})
