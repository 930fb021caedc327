// A compliance suite every Commstrat can run (tcp now; a memory or relay commstrat later): it only uses the
// Commstrat interface from @egtp/interface.
import { isEgtpError } from '@egtp/interface'
import type { Commstrat, Endpoint, InboundFrame } from '@egtp/interface'
import { describe, expect, test } from 'vitest'

export interface CommstratPair {
  /** Two started commstrats that can reach each other. */
  a: Commstrat
  b: Commstrat
  /** Where `b` can be reached from `a`. */
  endpointOfB: Endpoint
  /** An endpoint `a` can send to where nobody listens. */
  deadEndpoint: Endpoint
  /** An endpoint kind `a` must refuse. */
  foreignEndpoint: Endpoint
  teardown: () => Promise<void>
}

const frames = (strat: Commstrat): InboundFrame[] => {
  const got: InboundFrame[] = []
  strat.addEventListener('frame', ({ detail }) => { got.push(detail) })
  return got
}

export function commstratSuite (name: string, setup: () => Promise<CommstratPair>): void {
  describe(`${name}: Commstrat compliance`, () => {
    const withPair = async (fn: (pair: CommstratPair) => Promise<void>): Promise<void> => {
      const pair = await setup()
      try {
        await fn(pair)
      } finally {
        await pair.teardown()
      }
    }

    test('a sent frame arrives as a frame event, in order, with a usable return path', () => withPair(async ({ a, b, endpointOfB }) => {
      const atB = frames(b)
      for (let i = 0; i < 10; i++) await a.send('b', endpointOfB, Uint8Array.of(i))
      await expect.poll(() => atB.length).toBe(10)
      expect(atB.map(f => f.frame[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(atB[0]!.path.kind).toBe(a.kind)
      expect(atB[0]!.path.usable()).toBe(true)
    }))

    test('a reply through the return path reaches the sender', () => withPair(async ({ a, b, endpointOfB }) => {
      b.addEventListener('frame', ({ detail }) => { void detail.path.reply(Uint8Array.of(...detail.frame, 42)) })
      const atA = frames(a)
      await a.send('b', endpointOfB, Uint8Array.of(1), { expectReply: true })
      await expect.poll(() => atA.length).toBe(1)
      expect(atA[0]!.frame).toEqual(Uint8Array.of(1, 42))
      // and a's own return path answers b in turn
      const atB = frames(b)
      await atA[0]!.path.reply(Uint8Array.of(7))
      await expect.poll(() => atB.length).toBe(1)
    }))

    test('canSend refuses endpoints of another kind', () => withPair(async ({ a, endpointOfB, foreignEndpoint }) => {
      expect(a.canSend(endpointOfB)).toBe(true)
      expect(a.canSend(foreignEndpoint)).toBe(false)
    }))

    test('a send to an endpoint where nobody listens fails fast with ERR_UNREACHABLE', () => withPair(async ({ a, deadEndpoint }) => {
      const err = await a.send('x', deadEndpoint, Uint8Array.of(1)).catch((e: unknown) => e)
      expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    }))

    test('an aborted send rethrows the signal reason', () => withPair(async ({ a, endpointOfB }) => {
      const signal = AbortSignal.abort()
      await expect(a.send('b', endpointOfB, Uint8Array.of(1), { signal })).rejects.toBe(signal.reason)
    }))

    test('after stop, return paths are unusable and sends fail with ERR_CLOSED; stop is idempotent', () => withPair(async ({ a, b, endpointOfB }) => {
      const atB = frames(b)
      await a.send('b', endpointOfB, Uint8Array.of(1))
      await expect.poll(() => atB.length).toBe(1)
      await Promise.all([b.stop(), b.stop()])
      await b.stop()
      await expect.poll(() => atB[0]!.path.usable()).toBe(false)
      await expect(atB[0]!.path.reply(Uint8Array.of(2))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await expect(b.send('a', endpointOfB, Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      expect(b.localEndpoints()).toEqual([])
    }))
  })
}
