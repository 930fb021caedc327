import { describe, expect, test } from 'vitest'
import { memoryDirectory, startNode } from './helpers.ts'

const payload = new Uint8Array(64).fill(7)

/** A client and an echo server over TCP. */
async function echoPair (onTestFinished: Parameters<typeof startNode>[1]): Promise<{ client: Awaited<ReturnType<typeof startNode>>, server: Awaited<ReturnType<typeof startNode>> }> {
  const dir = memoryDirectory()
  // A standalone acknowledgement only goes after ackDelayMs with nothing else to send: lifted so none goes here.
  const limits = { ackDelayMs: 60_000, stopTimeoutMs: 200 }
  const client = await startNode(dir, onTestFinished, { limits })
  const server = await startNode(dir, onTestFinished, { limits })
  server.handle('echo', p => p)
  return { client, server }
}

// The single-query round trip over real sockets: what goes on the wire per query.
describe('round trip', () => {
  test('one query at a time costs one frame each way: acknowledgements ride on the reply and on the next query', async ({ onTestFinished }) => {
    const { client, server } = await echoPair(onTestFinished)
    expect(await client.query(server.nodeId, 'echo', payload)).toEqual(payload) // the session is up
    const sentBefore = { client: client.stats().framesSent, server: server.stats().framesSent }
    const n = 50
    for (let i = 0; i < n; i++) expect(await client.query(server.nodeId, 'echo', payload)).toEqual(payload)
    expect(client.stats().framesSent - sentBefore.client).toBe(n)
    expect(server.stats().framesSent - sentBefore.server).toBe(n)
    // Nothing left unacknowledged on either side once the last reply's acknowledgement went (with a query).
    expect(await client.query(server.nodeId, 'echo', payload)).toEqual(payload)
    expect(server.stats().unacked.messages).toBeLessThanOrEqual(1) // at most the last reply, acknowledged later
    expect(client.stats().unacked.messages).toBe(0)
  })

  test('a reply made at once goes out in the turn of the read, and the next query in the turn of the reply: no later phase', async ({ onTestFinished }) => {
    const { client, server } = await echoPair(onTestFinished)
    expect(await client.query(server.nodeId, 'echo', payload)).toEqual(payload) // the session is up
    // "In the turn" is a window of wall-clock time (`TURN_QUARTER_MS` in flush.ts): a process preempted past it (a
    // loaded CI machine) sends in the check phase instead, as designed. So each side gets up to TRIES tries, and
    // one must go in the turn: an implementation that never does fails them all.
    const TRIES = 5
    // An immediate queued by the handler runs in the check phase of the turn that read the query: the reply
    // has been handed to the transport by then (framesSent counts it once its transmit settled).
    let sentByCheckPhase = -1
    server.handle('probe', p => {
      const before = server.stats().framesSent
      setImmediate(() => { sentByCheckPhase = server.stats().framesSent - before })
      return p
    })
    for (let i = 0; i < TRIES && sentByCheckPhase !== 1; i++) {
      sentByCheckPhase = -1
      expect(await client.query(server.nodeId, 'probe', payload)).toEqual(payload)
      await expect.poll(() => sentByCheckPhase).toBeGreaterThanOrEqual(0)
    }
    expect(sentByCheckPhase).toBe(1)
    // The client side: a query made by a caller that awaited a reply leaves before the check phase too.
    let clientSentByCheckPhase = -1
    for (let i = 0; i < TRIES && clientSentByCheckPhase !== 1; i++) {
      clientSentByCheckPhase = -1
      await client.query(server.nodeId, 'echo', payload) // resumes in the turn that read the reply
      const before = client.stats().framesSent
      setImmediate(() => { clientSentByCheckPhase = client.stats().framesSent - before })
      void client.query(server.nodeId, 'echo', payload)
      await expect.poll(() => clientSentByCheckPhase).toBeGreaterThanOrEqual(0)
    }
    expect(clientSentByCheckPhase).toBe(1)
  })

  test("a fresh peer's first query: the server answers with one frame (its handshake response rides on the reply), then the client confirms", async ({ onTestFinished }) => {
    const { client, server } = await echoPair(onTestFinished)
    expect(await client.query(server.nodeId, 'echo', payload)).toEqual(payload)
    expect(server.stats().framesSent).toBe(1)
    expect(client.stats().framesReceived).toBe(1)
    // The client's bare confirmation follows (after the reply was handed over), and with it (same write) its
    // acknowledgement of the reply: the server's session is confirmed and its reply settled.
    await expect.poll(() => server.stats().framesReceived).toBe(3)
    expect(server.stats().unacked.messages).toBe(0)
    expect(await client.query(server.nodeId, 'echo', payload)).toEqual(payload)
    expect(server.stats().framesSent).toBe(2)
  })

  test('queries with different timeouts under the one deadline timer time out in deadline order', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const client = await startNode(dir, onTestFinished)
    const server = await startNode(dir, onTestFinished)
    server.handle('echo', p => p)
    server.handle('never', (_p, ctx) => { ctx.defer() })
    await client.query(server.nodeId, 'echo', 1)
    const order: number[] = []
    // 200 ms apart: only a process stalled that long between two calls could reorder the deadlines themselves.
    const asked = [600, 200, 400].map(async timeoutMs => {
      await expect(client.query(server.nodeId, 'never', timeoutMs, { timeoutMs })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
      order.push(timeoutMs)
    })
    // Queries answered meanwhile settle at once and leave the deadlines of the others alone.
    expect(await client.query(server.nodeId, 'echo', 2)).toBe(2)
    await Promise.all(asked)
    expect(order).toEqual([200, 400, 600])
    expect(client.stats().queries).toMatchObject({ pending: 0, failed: 3 })
  })
})
