// The IPC control channel's `events` and `status` ops (what apps/demo uses to name the mechanisms at work).
import { decodeContactRecord } from '@egtp/identity'
import { expect, test } from 'vitest'
import { NODE_MAIN, RELAY_MAIN, alive, start, until } from './helpers.ts'

interface Msg { op: string, id?: number, ok?: boolean, value?: unknown, code?: string, name?: string, detail?: Record<string, unknown>, at?: number }

test('events forwards session, connection and relay events as plain JSON; status reports endpoints and relays', { timeout: 30_000 }, async ({ onTestFinished }) => {
  const relay = await start(RELAY_MAIN, ['--listen', '127.0.0.1:0'], onTestFinished)
  const relayArg = `${relay.ready.nodeId}@127.0.0.1:${String(relay.ready.port)}`
  const a = await start(NODE_MAIN, ['--listen', '127.0.0.1:0'], onTestFinished, true)
  const b = await start(NODE_MAIN, ['--relay', relayArg], onTestFinished, true)
  const inbox = (node: typeof a): Msg[] => {
    const got: Msg[] = []
    node.child.on('message', (m: Msg) => { got.push(m) })
    return got
  }
  const fromA = inbox(a)
  const fromB = inbox(b)
  const answer = async (got: Msg[], id: number): Promise<Msg> => {
    await until(() => got.some(m => m.op === 'result' && m.id === id), 10_000, `answer ${id}`)
    return got.find(m => m.op === 'result' && m.id === id)!
  }
  // B's record names the relay once B is registered there.
  let bRecord = ''
  let asked = 100
  await until(async () => {
    b.child.send({ op: 'record', id: ++asked })
    bRecord = (await answer(fromB, asked)).value as string
    return decodeContactRecord(Buffer.from(bRecord, 'base64')).endpoints.some(e => e.kind === 'relay')
  }, 10_000, 'B registered with the relay')
  // Before any subscription nothing is forwarded.
  a.child.send({ op: 'addContact', record: bRecord, id: 1 })
  expect((await answer(fromA, 1)).ok).toBe(true)
  expect(fromA.concat(fromB).filter(m => m.op === 'event')).toEqual([])
  a.child.send({ op: 'events', id: 2 })
  b.child.send({ op: 'events', id: 2 })
  b.child.send({ op: 'events', id: 3 }) // subscribing twice forwards each event once
  expect((await answer(fromA, 2)).ok).toBe(true)
  expect((await answer(fromB, 3)).ok).toBe(true)

  a.child.send({ op: 'query', id: 4, peer: b.ready.nodeId, type: 'echo', payload: 'hi', timeoutMs: 8_000 })
  expect((await answer(fromA, 4)).value).toBe('hi')
  await until(() => fromB.some(m => m.op === 'event' && m.name === 'peer:connect'), 5_000, 'peer:connect at B')
  const events = (got: Msg[], name: string): Msg[] => got.filter(m => m.op === 'event' && m.name === name)
  expect(events(fromA, 'session:new').map(m => m.detail)).toEqual([expect.objectContaining({ peerId: b.ready.nodeId, role: 'initiator' })])
  expect(events(fromB, 'session:new').map(m => m.detail)).toEqual([expect.objectContaining({ peerId: a.ready.nodeId, role: 'responder' })])
  // B has no listening socket: A's frames reach it through the relay.
  expect(events(fromB, 'peer:connect').map(m => m.detail)).toEqual([{ peerId: a.ready.nodeId, path: 'relay' }])
  const stamp = events(fromB, 'peer:connect')[0]!.at!
  expect(Math.abs(stamp - Date.now())).toBeLessThan(10_000)

  b.child.send({ op: 'status', id: 5 })
  const status = (await answer(fromB, 5)).value as { nodeId: string, endpoints: Array<{ kind: string }>, relays: Array<{ state: string, registered: boolean }>, trackers: unknown[] }
  expect(status.nodeId).toBe(b.ready.nodeId)
  expect(status.endpoints.map(e => e.kind)).toEqual(['relay'])
  expect(status.relays).toEqual([expect.objectContaining({ state: 'ready', registered: true })])
  expect(status.trackers).toEqual([])

  // The relay goes away: B's subscription reports it, as plain JSON.
  relay.child.kill('SIGKILL')
  await until(() => events(fromB, 'relay:down').length > 0, 10_000, 'relay:down at B')
  expect(events(fromB, 'relay:down')[0]!.detail).toEqual(expect.objectContaining({ endpoint: expect.objectContaining({ relay: relay.ready.nodeId }) }))
  expect(alive(a.child) && alive(b.child)).toBe(true)
})
