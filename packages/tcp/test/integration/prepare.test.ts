import { isEgtpError } from '@egtp/interface'
import type { InboundFrame, TcpEndpoint } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import type { TcpCommstrat } from '../../src/index.ts'
import { LOOPBACK, listening, make, settle } from './helpers.ts'

async function started (): Promise<TcpCommstrat> {
  const strat = make()
  await strat.start()
  return strat
}

describe('tcp commstrat: prepare (dial ahead of a send)', () => {
  test('opens the managed connection before any send; the send that follows uses it, and nothing is sent meanwhile', async ({ onTestFinished }) => {
    const { strat: b, endpoint } = await listening()
    const a = await started()
    onTestFinished(async () => { await Promise.all([a.stop(), b.stop()]) })
    const atB: InboundFrame[] = []
    b.addEventListener('frame', ({ detail }) => { atB.push(detail) })
    a.prepare('b', endpoint)
    a.prepare('b', endpoint) // one dial however many prepares
    await expect.poll(() => b.stats().inbound).toBe(1)
    expect(a.stats()).toMatchObject({ connections: 1, managed: 1, bytesOut: 0 })
    await a.send('b', endpoint, Uint8Array.of(1))
    a.prepare('b', endpoint) // open already: nothing to do
    await expect.poll(() => atB.length).toBe(1)
    expect(a.stats()).toMatchObject({ connections: 1, outbound: 1 })
    expect(b.stats()).toMatchObject({ connections: 1, inbound: 1 })
  })

  test('a send right after prepare joins its dial (one connection)', async ({ onTestFinished }) => {
    const { strat: b, endpoint } = await listening()
    const a = await started()
    onTestFinished(async () => { await Promise.all([a.stop(), b.stop()]) })
    a.prepare('b', endpoint)
    await a.send('b', endpoint, Uint8Array.of(1))
    await settle(20)
    expect(a.stats().connections).toBe(1)
    expect(b.stats().inbound).toBe(1)
  })

  test('never throws: an unreachable endpoint fails the send that follows; foreign endpoints and a stopped commstrat do nothing', async ({ onTestFinished }) => {
    const dead = make({ listen: [LOOPBACK] })
    await dead.start()
    const deadEndpoint = dead.localEndpoints()[0] as TcpEndpoint
    await dead.stop()
    const a = await started()
    onTestFinished(async () => { await a.stop() })
    a.prepare('x', deadEndpoint)
    a.prepare('x', { kind: 'relay', relay: 'r', host: '127.0.0.1', port: 1 })
    const err = await a.send('x', deadEndpoint, Uint8Array.of(1)).catch((e: unknown) => e)
    expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    const stopped = make()
    stopped.prepare('x', deadEndpoint)
    expect(stopped.stats().dialing).toBe(0)
  })
})
