/**
 * The compliance suites, for vitest: `commstratCompliance(name, setup)` and `transportCompliance(name, setup)`
 * each declare a `describe` block of tests that any `Commstrat` (or `Transport`) must pass, using only the
 * `@egtp/interface` contract.
 * @example
 * ```ts
 * import { commstratCompliance, transportCompliance } from '@egtp/testing/compliance'
 * commstratCompliance('my commstrat', async () => ({ a, b, endpointOfB, deadEndpoint, foreignEndpoint, teardown }))
 * transportCompliance('my transport', async () => ({ transport, listenAt, maxFrameBytes, teardown }))
 * ```
 * @packageDocumentation
 */
import { isEgtpError } from '@egtp/interface'
import type { Commstrat, Endpoint, InboundFrame } from '@egtp/interface'
import { describe, expect, test } from 'vitest'

export { transportCompliance } from './transport-compliance.ts'
export type { TransportComplianceOptions, TransportUnderTest } from './transport-compliance.ts'

/** Two started commstrats that reach each other, and what the suite needs to know about them. */
export interface CommstratPair {
  a: Commstrat
  b: Commstrat
  /** Where `b` can be reached from `a`. */
  endpointOfB: Endpoint
  /** The node ID `a` addresses `b` by: a relay routes by it. Default `'b'` (tcp and memory ignore it). */
  idOfB?: string
  /** An endpoint `a` can use where nobody answers: a send fails fast with `ERR_UNREACHABLE`. */
  deadEndpoint: Endpoint
  /** An endpoint of a kind `a` must refuse. */
  foreignEndpoint: Endpoint
  teardown: () => Promise<void>
}

export interface CommstratComplianceOptions {
  /** How long to wait for a frame to arrive; default 5000 ms. */
  arriveWithinMs?: number
}

const framesOf = (strat: Commstrat): InboundFrame[] => {
  const got: InboundFrame[] = []
  strat.addEventListener('frame', ({ detail }) => { got.push(detail) })
  return got
}

/** Declare the compliance tests of one commstrat; `setup` runs once per test and `teardown` after it. */
export function commstratCompliance (name: string, setup: () => Promise<CommstratPair>, options: CommstratComplianceOptions = {}): void {
  const poll = { timeout: options.arriveWithinMs ?? 5000, interval: 5 }

  describe(`${name}: Commstrat compliance`, () => {
    const withPair = async (fn: (pair: CommstratPair & { idOfB: string }) => Promise<void>): Promise<void> => {
      const pair = await setup()
      try {
        await fn({ ...pair, idOfB: pair.idOfB ?? 'b' })
      } finally {
        await pair.teardown()
      }
    }

    test('a sent frame arrives as a frame event, in order, with a usable return path', () => withPair(async ({ a, b, endpointOfB, idOfB }) => {
      const atB = framesOf(b)
      for (let i = 0; i < 10; i++) await a.send(idOfB, endpointOfB, Uint8Array.of(i))
      await expect.poll(() => atB.length, poll).toBe(10)
      expect(atB.map(f => f.frame[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(atB[0]!.path.kind).toBe(a.kind)
      expect(atB[0]!.path.usable()).toBe(true)
    }))

    test('a frame sent as pieces arrives as one buffer; a large one arrives intact', () => withPair(async ({ a, b, endpointOfB, idOfB }) => {
      const atB = framesOf(b)
      const big = new Uint8Array(100_000).map((_, i) => i * 7)
      await a.send(idOfB, endpointOfB, [Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3)])
      await a.send(idOfB, endpointOfB, [big.subarray(0, 40_000), big.subarray(40_000)])
      await expect.poll(() => atB.length, poll).toBe(2)
      expect(atB[0]!.frame).toEqual(Uint8Array.of(1, 2, 3))
      expect(atB[1]!.frame).toEqual(big)
    }))

    test('concurrent sends all arrive, once each', () => withPair(async ({ a, b, endpointOfB, idOfB }) => {
      const atB = framesOf(b)
      await Promise.all(Array.from({ length: 50 }, async (_, i) => { await a.send(idOfB, endpointOfB, Uint8Array.of(i)) }))
      await expect.poll(() => atB.length, poll).toBe(50)
      expect(atB.map(f => f.frame[0]).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    }))

    test('a reply through the return path reaches the sender', () => withPair(async ({ a, b, endpointOfB, idOfB }) => {
      b.addEventListener('frame', ({ detail }) => { void detail.path.reply(Uint8Array.of(...detail.frame, 42)).catch(() => {}) })
      const atA = framesOf(a)
      await a.send(idOfB, endpointOfB, Uint8Array.of(1), { expectReply: true })
      await expect.poll(() => atA.length, poll).toBe(1)
      expect(atA[0]!.frame).toEqual(Uint8Array.of(1, 42))
      // and a's own return path answers b in turn
      const atB = framesOf(b)
      await atA[0]!.path.reply(Uint8Array.of(7))
      await expect.poll(() => atB.length, poll).toBe(1)
    }))

    test('canSend refuses endpoints of another kind', () => withPair(async ({ a, endpointOfB, foreignEndpoint }) => {
      expect(a.canSend(endpointOfB)).toBe(true)
      expect(a.canSend(foreignEndpoint)).toBe(false)
    }))

    test('a send to an endpoint where nobody listens fails fast with ERR_UNREACHABLE', () => withPair(async ({ a, deadEndpoint, idOfB }) => {
      const err = await a.send(idOfB, deadEndpoint, Uint8Array.of(1)).catch((e: unknown) => e)
      expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    }))

    test('an aborted send rethrows the signal reason', () => withPair(async ({ a, endpointOfB, idOfB }) => {
      const signal = AbortSignal.abort()
      await expect(a.send(idOfB, endpointOfB, Uint8Array.of(1), { signal })).rejects.toBe(signal.reason)
    }))

    test('after stop, return paths are unusable and sends fail with ERR_CLOSED; stop is idempotent', () => withPair(async ({ a, b, endpointOfB, idOfB }) => {
      const atB = framesOf(b)
      await a.send(idOfB, endpointOfB, Uint8Array.of(1))
      await expect.poll(() => atB.length, poll).toBe(1)
      await Promise.all([b.stop(), b.stop()])
      await b.stop()
      await expect.poll(() => atB[0]!.path.usable(), poll).toBe(false)
      await expect(atB[0]!.path.reply(Uint8Array.of(2))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      const err = await b.send('a', endpointOfB, Uint8Array.of(1)).catch((e: unknown) => e)
      expect(isEgtpError(err, 'ERR_CLOSED')).toBe(true)
      expect(b.localEndpoints()).toEqual([])
    }))
  })
}
