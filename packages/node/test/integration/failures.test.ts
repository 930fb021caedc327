import { EgtpError, isEgtpError, systemClock } from '@egtp/interface'
import type { Clock } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { RemoteError } from '../../src/index.ts'
import type { NodeEvents } from '../../src/index.ts'
import { memoryDirectory, startMemoryNode, until } from './helpers.ts'

const rejection = async (p: Promise<unknown>): Promise<EgtpError> => {
  try {
    await p
  } catch (err) {
    if (isEgtpError(err)) return err
    throw err
  }
  throw new Error('expected a rejection')
}

// Protocol tests: sockets add nothing here, so the nodes talk over the in-memory network of @egtp/testing.
describe('query failures', () => {
  test('a handler that never replies gives ERR_TIMEOUT, and its signal is aborted at the caller\'s deadline', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    let handlerSignal: AbortSignal | undefined
    b.handle('never', (_p, ctx) => { handlerSignal = ctx.signal; ctx.defer() })
    // The session is up first, so the deadline measures the handler, not the dial and handshake on a busy machine.
    b.handle('echo', p => p)
    await a.query(b.nodeId, 'echo', 'warm')
    const failed: Array<NodeEvents['message:failed']> = []
    a.addEventListener('message:failed', ({ detail }) => { failed.push(detail) })
    const err = await rejection(a.query(b.nodeId, 'never', null, { timeoutMs: 1000 }))
    expect(err.code).toBe('ERR_TIMEOUT')
    expect(err.message).toMatch(/it was delivered/)
    expect(failed.map(f => [f.type, f.error.code])).toEqual([['never', 'ERR_TIMEOUT']])
    expect(a.stats().queries).toMatchObject({ pending: 0, succeeded: 1, failed: 1 })
    expect(a.stats().failed).toEqual({ ERR_TIMEOUT: 1 })
    await until(() => handlerSignal?.aborted === true, 5000, 'the handler signal to abort')
  })

  test('the soft timeout fires query:impatient while the query stays open and still resolves', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    let release: () => void = () => {}
    b.handle('slow', async (p) => { await new Promise<void>(resolve => { release = resolve }); return p })
    const impatient: Array<NodeEvents['query:impatient']> = []
    a.addEventListener('query:impatient', ({ detail }) => { impatient.push(detail) })
    const answer = a.query(b.nodeId, 'slow', 'eventually', { softTimeoutMs: 50, timeoutMs: 10_000 })
    await until(() => impatient.length === 1, 5000, 'query:impatient')
    expect(impatient[0]).toMatchObject({ peerId: b.nodeId, type: 'slow' })
    expect(impatient[0]!.elapsedMs).toBeGreaterThanOrEqual(40)
    expect(a.stats().queries.pending).toBe(1)
    release()
    expect(await answer).toBe('eventually')
    expect(impatient).toHaveLength(1)
    expect(a.stats().queries).toMatchObject({ pending: 0, succeeded: 1, failed: 0 })
  })

  test('a reply after the hard timeout is reported by query:late and counted, not lost', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    let release: () => void = () => {}
    b.handle('slow', async (p) => { await new Promise<void>(resolve => { release = resolve }); return { late: p } })
    b.handle('slowfail', async () => { await new Promise<void>(resolve => { release = resolve }); throw new Error('too late to fail') })
    const late: Array<NodeEvents['query:late']> = []
    a.addEventListener('query:late', ({ detail }) => { late.push(detail) })
    const err = await rejection(a.query(b.nodeId, 'slow', 1, { timeoutMs: 200 }))
    expect(err.code).toBe('ERR_TIMEOUT')
    release()
    await until(() => late.length === 1, 5000, 'query:late')
    expect(late[0]).toMatchObject({ peerId: b.nodeId, type: 'slow', reply: { late: 1 } })
    expect(late[0]!.lateByMs).toBeGreaterThanOrEqual(0)
    expect((await rejection(a.query(b.nodeId, 'slowfail', null, { timeoutMs: 200 }))).code).toBe('ERR_TIMEOUT')
    release()
    await until(() => late.length === 2, 5000, 'the second query:late')
    expect(late[1]!.error?.code).toBe('ERR_REMOTE')
    expect(a.stats().queries).toMatchObject({ pending: 0, failed: 2, late: 2 })
  })

  test('a handler that throws gives ERR_REMOTE with the remote code and message', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    b.handle('throws', () => { throw new Error('boom') })
    b.handle('rejects', async () => { throw new EgtpError('ERR_LIMIT', 'quota spent') })
    b.handle('fails', (_p, ctx) => { ctx.fail(new Error('explicit')) })
    const err = await rejection(a.query(b.nodeId, 'throws'))
    expect(err).toBeInstanceOf(RemoteError)
    expect(err.code).toBe('ERR_REMOTE')
    expect(err.message).toContain('boom')
    expect((err as RemoteError).remoteCode).toBe('ERR_REMOTE')
    expect((err as RemoteError).peerId).toBe(b.nodeId)
    const coded = await rejection(a.query(b.nodeId, 'rejects'))
    expect([coded.code, (coded as RemoteError).remoteCode]).toEqual(['ERR_REMOTE', 'ERR_LIMIT'])
    expect(coded.message).toContain('quota spent')
    expect((await rejection(a.query(b.nodeId, 'fails'))).message).toContain('explicit')
    // The node that threw keeps serving.
    b.handle('ok', () => 'fine')
    expect(await a.query(b.nodeId, 'ok')).toBe('fine')
    expect(a.stats().failed).toEqual({ ERR_REMOTE: 3 })
  })

  test('a type without a handler gives ERR_NO_HANDLER to queries and one-way messages', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    const dropped: Array<NodeEvents['message:dropped']> = []
    b.addEventListener('message:dropped', ({ detail }) => { dropped.push(detail) })
    expect((await rejection(a.query(b.nodeId, 'nope'))).code).toBe('ERR_NO_HANDLER')
    expect((await rejection(a.send(b.nodeId, 'nope', 1))).code).toBe('ERR_NO_HANDLER')
    expect(dropped.map(d => [d.reason, d.type, d.peerId])).toEqual([['no-handler', 'nope', a.nodeId], ['no-handler', 'nope', a.nodeId]])
    expect(b.stats().dropped['no-handler']).toBe(2)
    // A handler registered later gets the next message; unhandle makes the type unknown again.
    const got: unknown[] = []
    b.handle('nope', (p) => { got.push(p); return 'now handled' })
    expect(await a.query(b.nodeId, 'nope')).toBe('now handled')
    b.unhandle('nope')
    expect((await rejection(a.query(b.nodeId, 'nope'))).code).toBe('ERR_NO_HANDLER')
    expect(a.stats().unacked.messages).toBe(0)
  })

  test('a reply to no remembered query (past the late window) is ignored and counted as unknown-reply', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    // a's clock is moved past lateReplyWindowMs instead of waiting for it
    let offsetMs = 0
    const clock: Clock = { now: () => systemClock.now() + offsetMs, monotonic: () => systemClock.monotonic() + offsetMs }
    const a = await startMemoryNode(dir, onTestFinished, { clock, limits: { lateReplyWindowMs: 1 } })
    const b = await startMemoryNode(dir, onTestFinished)
    let release: () => void = () => {}
    b.handle('slow', async () => { await new Promise<void>(resolve => { release = resolve }); return 'stale' })
    b.handle('fast', (p) => p)
    const dropped: Array<NodeEvents['message:dropped']> = []
    const late: unknown[] = []
    a.addEventListener('message:dropped', ({ detail }) => { dropped.push(detail) })
    a.addEventListener('query:late', ({ detail }) => { late.push(detail) })
    expect((await rejection(a.query(b.nodeId, 'slow', null, { timeoutMs: 100 }))).code).toBe('ERR_TIMEOUT')
    offsetMs += 20
    release()
    await until(() => dropped.length === 1, 5000, 'the unknown reply to be dropped')
    expect(dropped[0]).toMatchObject({ reason: 'unknown-reply', peerId: b.nodeId })
    expect(a.stats().dropped['unknown-reply']).toBe(1)
    expect(late).toEqual([])
    // Its answer is never mistaken for a newer query's.
    expect(await a.query(b.nodeId, 'fast', 'mine')).toBe('mine')
    // The reply was acknowledged all the same, so b stops re-sending it.
    await until(() => b.stats().unacked.messages === 0, 5000, 'b to drop the acknowledged reply')
  })

  test('each reply is bound to its peer: two peers answering the same query counter do not cross', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    const c = await startMemoryNode(dir, onTestFinished)
    // a's first query to b and to c carry the same counter in a's stream; c answers first.
    let cAnswered: () => void = () => {}
    const afterC = new Promise<void>(resolve => { cAnswered = resolve })
    b.handle('who', async () => { await afterC; return 'b' })
    c.handle('who', () => 'c')
    const [fromB, fromC] = await Promise.all([
      a.query(b.nodeId, 'who'),
      a.query(c.nodeId, 'who').then(reply => { cAnswered(); return reply })
    ])
    expect([fromB, fromC]).toEqual(['b', 'c'])
    expect(a.stats().dropped['unknown-reply'] ?? 0).toBe(0)
  })

  test('calls before start, after stop, to itself or to a bad ID fail with coded errors', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const b = await startMemoryNode(dir, onTestFinished)
    const { createNode } = await import('../../src/index.ts')
    const fresh = await createNode({ lookup: dir })
    expect((await rejection(fresh.query(b.nodeId, 'x'))).code).toBe('ERR_NOT_STARTED')
    expect((await rejection(b.query(b.nodeId, 'x'))).code).toBe('ERR_SELF')
    expect((await rejection(b.send('not-a-node-id', 'x'))).code).toBe('ERR_BAD_NODE_ID')
    await b.stop()
    expect((await rejection(b.send(fresh.nodeId, 'x'))).code).toBe('ERR_CLOSED')
  })
})
