// connect(peer) and disconnect(peer) over real TCP on 127.0.0.1.
import { createServer, connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { generateIdentity } from '@egtp/identity'
import { isEgtpError, systemClock } from '@egtp/interface'
import type { Clock } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { createNode } from '../../src/index.ts'
import type { EgtpNode, MemoryDirectory } from '../../src/index.ts'
import { LISTEN, memoryDirectory, startNode, until } from './helpers.ts'
import { silentPeer } from './silent-peer.ts'

const code = (err: unknown): string => isEgtpError(err) ? err.code : err instanceof Error ? err.name : String(err)

/** A node with a connect to a silent peer in flight for 50 ms, then `end`: what the connect rejected with. */
async function connectEndedBy (cleanup: (fn: () => Promise<void>) => void, end: (a: EgtpNode, silent: string) => Promise<void>): Promise<{ a: EgtpNode, silent: string, outcome: string }> {
  const dir = memoryDirectory()
  const a = await startNode(dir, cleanup)
  const silent = await silentPeer(dir, cleanup)
  const pending = a.connect(silent).catch(code)
  await new Promise(resolve => setTimeout(resolve, 50))
  await end(a, silent)
  const outcome = await pending
  return { a, silent, outcome: typeof outcome === 'string' ? outcome : 'connected' }
}

async function tcpNode (dir: MemoryDirectory, cleanup: (fn: () => Promise<void>) => void): Promise<{ node: EgtpNode, strat: ReturnType<ReturnType<typeof tcp>> }> {
  const strat = tcp({ listen: LISTEN })()
  const node = await createNode({ commstrats: [strat], lookup: dir, announcer: dir })
  cleanup(async () => { await node.stop() })
  await node.start()
  return { node, strat }
}

describe('connect', () => {
  test('sets up the session ahead of the first message: what follows needs no new handshake', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished)
    b.handle('echo', (p) => p)
    a.handle('echo', (p) => p)
    let got = 0
    b.handle('note', () => { got++ })
    const info = await a.connect(b.nodeId)
    expect(info.peerId).toBe(b.nodeId)
    expect(info.handshake).toBe(true)
    expect(info.path).toBe('tcp')
    expect(info.rttMs).toBeGreaterThanOrEqual(0)
    expect(info.elapsedMs).toBeGreaterThanOrEqual(info.rttMs!)
    expect(a.stats().handshakes).toBe(1)
    await until(() => b.stats().handshakes === 1, 2000, 'b to see the session')
    const framesBefore = a.stats().framesSent
    // Sent now, the first message goes as a data frame of the session connect set up: no new initiation.
    await a.send(b.nodeId, 'note', 'one')
    expect(await a.query(b.nodeId, 'echo', 'two')).toBe('two')
    expect(await b.query(a.nodeId, 'echo', 'back')).toBe('back')
    expect(got).toBe(1)
    expect(a.stats().handshakes).toBe(1)
    expect(b.stats().handshakes).toBe(1)
    expect(a.stats().framesSent).toBeGreaterThan(framesBefore)
    // Connected already: resolves without a handshake.
    const again = await a.connect(b.nodeId)
    expect(again.handshake).toBe(false)
    expect(again.rttMs).toBeUndefined()
    expect(a.stats().handshakes).toBe(1)
  })

  test('concurrent calls for one peer share one attempt', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished)
    const all = await Promise.all([0, 1, 2, 3, 4].map(async () => await a.connect(b.nodeId)))
    expect(all.every(r => r.handshake)).toBe(true)
    expect(a.stats().handshakes).toBe(1)
    await until(() => b.stats().handshakes === 1, 2000, 'b to see the session')
    expect(b.stats().handshakes).toBe(1)
  })

  test('coded failures: unknown peer, dead endpoint, silent endpoint (ERR_TIMEOUT), abort, bad arguments', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished, { limits: { lookupTimeoutMs: 500 } })
    expect(await a.connect(generateIdentity().nodeId).catch(code)).toBe('ERR_UNREACHABLE')
    const b = await startNode(dir, onTestFinished)
    await b.stop()
    expect(await a.connect(b.nodeId).catch(code)).toBe('ERR_UNREACHABLE')
    const silent = await silentPeer(dir, onTestFinished)
    expect(await a.connect(silent, { timeoutMs: 300 }).catch(code)).toBe('ERR_TIMEOUT')
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 100)
    const aborted = await a.connect(silent, { signal: controller.signal }).catch((e: unknown) => e)
    expect(aborted).toBe(controller.signal.reason) // rethrown untouched
    expect(await a.connect(silent, { signal: AbortSignal.abort() }).catch(code)).toBe('AbortError')
    expect(await a.connect(a.nodeId).catch(code)).toBe('ERR_SELF')
    expect(await a.connect('not a node id').catch(code)).toBe('ERR_BAD_NODE_ID')
    await expect(a.connect(silent, { timeoutMs: 0 })).rejects.toThrow(RangeError)
    const c = await createNode({ lookup: dir })
    expect(await c.connect(silent).catch(code)).toBe('ERR_NOT_STARTED')
  })

  test('the last caller to give up ends the attempt; a caller that stays still gets its own outcome', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const silent = await silentPeer(dir, onTestFinished)
    const quick = a.connect(silent, { timeoutMs: 100 }).catch(code)
    const patient = a.connect(silent, { timeoutMs: 400 }).catch(code)
    expect(await quick).toBe('ERR_TIMEOUT')
    expect(await patient).toBe('ERR_TIMEOUT')
  })

  test('a paranoid peer refusing our clock: ERR_CLOCK_SKEW', async ({ onTestFinished }) => {
    const ahead: Clock = { now: () => Date.now() + 120_000, monotonic: () => systemClock.monotonic() }
    // A knows no record of B, so it cannot answer with a session of its own.
    const dirA = memoryDirectory()
    const dirB = memoryDirectory()
    const a = await startNode(dirA, onTestFinished, { clockWindowMs: 60_000 })
    const b = await startNode(dirB, onTestFinished, { clock: ahead, lookup: dirA })
    expect(await b.connect(a.nodeId, { timeoutMs: 3000 }).catch(code)).toBe('ERR_CLOCK_SKEW')
  })

  test('stop rejects a connect in flight with ERR_CLOSED', async ({ onTestFinished }) => {
    const { outcome } = await connectEndedBy(onTestFinished, async (a) => { await a.stop() })
    expect(outcome).toBe('ERR_CLOSED')
  })
})

describe('disconnect', () => {
  test('closes the connections and the session, reports what was in flight, and a later send reconnects', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const { node: a, strat: sa } = await tcpNode(dir, onTestFinished)
    const { node: b, strat: sb } = await tcpNode(dir, onTestFinished)
    const held: Array<() => void> = []
    b.handle('slow', (_p, ctx) => { ctx.defer(); held.push(() => { ctx.reply('late') }) })
    let notes = 0
    b.handle('note', () => { notes++ })
    await a.connect(b.nodeId)
    expect(sa.stats().connections).toBeGreaterThan(0)
    const waiting = a.query(b.nodeId, 'slow', 1).catch(code)
    await until(() => held.length === 1 && a.stats().unacked.messages === 0, 2000, 'the query to reach b and be acknowledged')
    const events: Array<{ peerId: string, failed: number }> = []
    a.addEventListener('peer:disconnect', e => { events.push(e.detail) })
    // Accepted but not sent yet when disconnect runs (sends are flushed after the current I/O callbacks).
    const unsent = [a.send(b.nodeId, 'note', 'x').catch(code), a.send(b.nodeId, 'note', 'y').catch(code)]
    const failed = await a.disconnect(b.nodeId)
    expect(await waiting).toBe('ERR_DISCONNECTED')
    expect(await Promise.all(unsent)).toEqual(['ERR_DISCONNECTED', 'ERR_DISCONNECTED'])
    expect(failed).toBe(3)
    expect(events).toEqual([{ peerId: b.nodeId, failed: 3 }])
    await until(() => sa.stats().connections === 0 && sb.stats().connections === 0, 3000, 'both ends to close the connection')
    expect(a.stats().unacked.messages).toBe(0)
    expect(a.stats().queries.pending).toBe(0)
    // A later send sets up a new session and connection.
    await a.send(b.nodeId, 'note', 'z')
    expect(notes).toBe(1)
    expect(a.stats().handshakes).toBe(2)
    expect(sa.stats().connections).toBeGreaterThan(0)
    held[0]!() // b's late reply to the failed query finds no one waiting: harmless
    await until(() => b.stats().unacked.messages === 0, 5000, 'b to settle its late reply')
    // b reaches a again too.
    a.handle('echo', p => p)
    expect(await b.query(a.nodeId, 'echo', 'hi')).toBe('hi')
  })

  test('a connect in flight rejects with ERR_DISCONNECTED; disconnecting an unknown peer is harmless', async ({ onTestFinished }) => {
    const { a, silent, outcome } = await connectEndedBy(onTestFinished, async (a, silent) => { await a.disconnect(silent) })
    expect(outcome).toBe('ERR_DISCONNECTED')
    // Sent (the silent peer's socket took it) but never acknowledged: delivery uncertain.
    const sent = a.send(silent, 'note', 'x').catch(code)
    await until(() => a.stats().messagesSent === 1, 2000, 'the message to leave')
    expect(await a.disconnect(silent)).toBe(1)
    expect(await sent).toBe('ERR_DELIVERY_UNCERTAIN')
    expect(await a.disconnect(generateIdentity().nodeId)).toBe(0)
    expect(await a.disconnect('nope').catch(code)).toBe('ERR_BAD_NODE_ID')
  })

  test('closes an older connection of the peer too: one it redialled while our end of the old one lived on', async ({ onTestFinished }) => {
    // b reaches a through a proxy on 127.0.0.1 (a announces the proxy's endpoint). Cutting only the proxy's b
    // side leaves a's end of that connection open, as a cut link does: no FIN ever reaches a.
    const toA: Socket[] = []
    const toB: Socket[] = []
    let aPort = 0
    const proxy = createServer(fromB => {
      const upstream = netConnect(aPort, '127.0.0.1')
      toA.push(upstream)
      toB.push(fromB)
      fromB.pipe(upstream)
      upstream.pipe(fromB)
      fromB.on('error', () => {})
      upstream.on('error', () => {})
    })
    await new Promise<void>(resolve => { proxy.listen(0, '127.0.0.1', resolve) })
    onTestFinished(async () => {
      for (const s of [...toA, ...toB]) s.destroy()
      await new Promise(resolve => { proxy.close(resolve) })
    })
    const proxyPort = (proxy.address() as { port: number }).port
    const dir = memoryDirectory()
    // a listens on a port found free a moment ago and announces only the proxy's.
    const probe = createServer()
    await new Promise<void>(resolve => { probe.listen(0, '127.0.0.1', resolve) })
    aPort = (probe.address() as { port: number }).port
    await new Promise(resolve => { probe.close(resolve) })
    const sa = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: aPort }], announce: [{ kind: 'tcp', host: '127.0.0.1', port: proxyPort }] })()
    const a = await createNode({ commstrats: [sa], lookup: dir, announcer: dir })
    onTestFinished(async () => { await a.stop() })
    await a.start()
    const { node: b } = await tcpNode(dir, onTestFinished)
    let notes = 0
    a.handle('note', () => { notes++ })
    await b.send(a.nodeId, 'note', 1)
    expect(toA).toHaveLength(1)
    toB[0]!.unpipe(); toA[0]!.unpipe()
    toB[0]!.destroy() // b's connection ends; a's end of it stays open
    await until(() => b.stats().unacked.messages === 0, 2000, 'b to settle')
    await new Promise(resolve => setTimeout(resolve, 100))
    await b.send(a.nodeId, 'note', 2) // b dials again: a second connection at a
    expect(notes).toBe(2)
    expect(toA).toHaveLength(2)
    expect(sa.stats().inbound).toBe(2)
    await a.disconnect(b.nodeId)
    await until(() => toA.every(s => s.destroyed || s.readableEnded), 3000, 'a to close both of its ends')
    await until(() => sa.stats().connections === 0, 3000, 'a to hold no connection')
  })
})
