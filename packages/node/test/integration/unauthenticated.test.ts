// Attack 2 of the hardening issue, against a node with default limits: 64 connections from one address that
// send one byte, nothing, empty frames, or well-framed garbage of an unknown type held every per-address slot
// until the idle timeout (one was closed after 309.9 s), and a fresh node from that address got ERR_TIMEOUT.
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import { createMessageCodec, sessionMessages } from '@egtp/codec'
import type { TcpEndpoint } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { DEFAULT_AUTH_TIMEOUT_MS, DEFAULT_MAX_INBOUND_PER_ADDRESS } from '@egtp/tcp/defaults'
import { describe, expect, test } from 'vitest'
import { createNode } from '../../src/index.ts'
import { LISTEN, memoryDirectory, startNode, until } from './helpers.ts'

const frame = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
  out.set(body, 4)
  return out
}

describe('unauthenticated connections to a node with default limits', () => {
  test('64 idle or garbage connections from one address are closed within the auth timeout, and a fresh node from that address gets through at once', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const strat = tcp({ listen: LISTEN })()
    const node = await createNode({ commstrats: [strat], lookup: dir, announcer: dir })
    onTestFinished(async () => { await node.stop() })
    node.handle('echo', p => p)
    await node.start()
    const endpoint = strat.localEndpoints()[0] as TcpEndpoint
    expect(endpoint.host).toBe('127.0.0.1')

    // A well-formed session message whose type tag is changed to one that does not exist.
    const codec = createMessageCodec(sessionMessages)
    const unknownType = codec.encode({ t: 'hd', r: 7, n: 99, c: new Uint8Array(32) })
    const at = Buffer.from(unknownType).indexOf('hd')
    unknownType.set([0x7a, 0x7a], at)
    expect(() => codec.decode(unknownType)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_TYPE' }))
    const kinds: Array<Uint8Array | undefined> = [Uint8Array.of(0), undefined, frame(new Uint8Array(0)), frame(unknownType)]
    const sockets: Socket[] = []
    const openedAt = performance.now()
    const heldMs: number[] = []
    for (let i = 0; i < DEFAULT_MAX_INBOUND_PER_ADDRESS; i++) {
      const s = connect({ host: endpoint.host, port: endpoint.port })
      s.on('error', () => {})
      onTestFinished(() => { s.destroy() })
      await once(s, 'connect')
      s.once('close', () => { heldMs.push(performance.now() - openedAt) })
      const bytes = kinds[i % kinds.length]
      if (bytes !== undefined) s.write(bytes)
      sockets.push(s)
    }
    // A fresh node from the same address: its connection replaces the oldest unauthenticated one if all slots
    // are still taken, and it never waits for them to time out.
    const fresh = await startNode(dir, onTestFinished)
    expect(await fresh.query(node.nodeId, 'echo', 'hello', { timeoutMs: DEFAULT_AUTH_TIMEOUT_MS })).toBe('hello')

    await until(() => heldMs.length === sockets.length, 4 * DEFAULT_AUTH_TIMEOUT_MS, 'every unauthenticated socket to be closed')
    const t = strat.stats()
    // Empty frames and unknown types close at once; one byte and silence at the auth deadline.
    expect(t.rejectedGarbage).toBe(DEFAULT_MAX_INBOUND_PER_ADDRESS / 2)
    expect(t.authTimeouts + t.evictedUnauthenticated).toBe(DEFAULT_MAX_INBOUND_PER_ADDRESS / 2)
    expect(node.stats().protocolViolations).toBe(DEFAULT_MAX_INBOUND_PER_ADDRESS / 2)
    expect(t.rejectedByReason.maxInboundPerAddress).toBe(0)
    heldMs.sort((a, b) => a - b)
    // A figure for the report, not an assertion.
    console.log(`64 unauthenticated sockets: garbage ones held a slot for at most ${heldMs[DEFAULT_MAX_INBOUND_PER_ADDRESS / 2 - 1]!.toFixed(0)} ms, silent ones for at most ${heldMs.at(-1)!.toFixed(0)} ms (auth timeout ${DEFAULT_AUTH_TIMEOUT_MS} ms)`)
  }, 60_000)
})
