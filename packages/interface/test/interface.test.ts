import { describe, expect, test } from 'vitest'
import {
  EgtpError, isEgtpError, isAbortError, TypedEventTarget, createComponentLogger, formatLogMessage,
  namespaceMatcher, MemoryStore, anySignal, disabledLogger, joinOutboundFrame, outboundFrameBytes, uninitializedBytes
} from '../src/index.ts'

describe('OutboundFrame', () => {
  test('pieces count and join as one frame; one buffer is passed through', () => {
    const one = Uint8Array.of(1, 2)
    expect(outboundFrameBytes(one)).toBe(2)
    expect(joinOutboundFrame(one)).toBe(one)
    expect(joinOutboundFrame([one])).toBe(one)
    const pieces = [one, new Uint8Array(0), Uint8Array.of(3)]
    expect(outboundFrameBytes(pieces)).toBe(3)
    expect(joinOutboundFrame(pieces)).toEqual(Uint8Array.of(1, 2, 3))
    expect(outboundFrameBytes([one, 'x' as unknown as Uint8Array])).toBe(-1)
    expect(outboundFrameBytes('x' as unknown as Uint8Array)).toBe(-1)
  })
})

describe('EgtpError', () => {
  test('carries a stable code and chains its cause', () => {
    const cause = new Error('refused')
    const err = new EgtpError('ERR_UNREACHABLE', '127.0.0.1:1', { cause })
    expect(err.code).toBe('ERR_UNREACHABLE')
    expect(err.message).toBe('ERR_UNREACHABLE: 127.0.0.1:1')
    expect(err.cause).toBe(cause)
    expect(isEgtpError(err)).toBe(true)
    expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    expect(isEgtpError(err, 'ERR_TIMEOUT')).toBe(false)
    expect(err.retryable).toBeUndefined()
    expect(err.scope).toBeUndefined()
  })

  test('a send failure says what failed and whether to try again', () => {
    const err = new EgtpError('ERR_RELAY_FULL', 'relay r is full', { retryable: true, scope: 'endpoint' })
    expect(err).toMatchObject({ code: 'ERR_RELAY_FULL', retryable: true, scope: 'endpoint' })
    expect(new EgtpError('ERR_REMOTE', 'refused', { retryable: false, scope: 'peer' })).toMatchObject({ retryable: false, scope: 'peer' })
  })

  test('isEgtpError works across copies of the class (by name and code)', () => {
    const foreign = Object.assign(new Error('x'), { name: 'EgtpError', code: 'ERR_AUTH' })
    expect(isEgtpError(foreign, 'ERR_AUTH')).toBe(true)
    expect(isEgtpError(new TypeError('x'))).toBe(false)
    expect(isEgtpError('ERR_AUTH')).toBe(false)
  })

  test('abort errors are recognised', () => {
    const c = new AbortController()
    c.abort()
    expect(isAbortError(c.signal.reason)).toBe(true)
    expect(isAbortError(AbortSignal.timeout(0).reason ?? new DOMException('t', 'TimeoutError'))).toBe(true)
  })
})

describe('TypedEventTarget', () => {
  test('dispatches typed details and counts listeners', () => {
    const target = new TypedEventTarget<{ ping: number }>()
    const seen: number[] = []
    const listener = (e: CustomEvent<number>): void => { seen.push(e.detail) }
    expect(target.listenerCount('ping')).toBe(0)
    target.safeDispatch('ping', 1)
    target.addEventListener('ping', listener)
    target.safeDispatch('ping', 2)
    target.removeEventListener('ping', listener)
    target.safeDispatch('ping', 3)
    expect(seen).toEqual([2])
    expect(target.listenerCount('ping')).toBe(0)
  })
})

describe('logging', () => {
  test('namespaces follow DEBUG patterns', () => {
    const m = namespaceMatcher('egtp:*,-egtp:tcp')
    expect(m('egtp:node')).toBe(true)
    expect(m('egtp:tcp')).toBe(false)
    expect(m('other')).toBe(false)
  })

  test('formats without ever printing bytes', () => {
    const key = new Uint8Array(32).fill(7)
    expect(formatLogMessage('k=%k o=%o n=%d %s', [{ fingerprint: 'abcd1234' }, { key }, '5', 'x'])).toBe('k=abcd1234 o={"key":"<32 bytes>"} n=5 x')
  })

  test('component loggers write enabled namespaces and always errors', () => {
    const lines: string[] = []
    const logger = createComponentLogger('egtp:node', (l) => lines.push(`${l.level} ${l.namespace} ${l.message}`))
    logger.forComponent('node')('started %s', 'ok')
    logger.forComponent('tcp')('hidden')
    logger.forComponent('tcp').error('failed %s', 'boom')
    expect(lines).toEqual(['info egtp:node started ok', 'error egtp:tcp failed boom'])
    expect(disabledLogger.enabled).toBe(false)
  })
})

test('MemoryStore keeps copies', async () => {
  const store = new MemoryStore()
  const v = Uint8Array.of(1, 2)
  await store.put('a', v)
  v[0] = 9
  expect(await store.get('a')).toEqual(Uint8Array.of(1, 2))
  await store.delete('a')
  expect(await store.get('a')).toBeUndefined()
})

test('anySignal aborts when any input does', () => {
  const a = new AbortController()
  const s = anySignal(a.signal, undefined, new AbortController().signal)
  a.abort()
  expect(s.aborted).toBe(true)
})

describe('uninitializedBytes', () => {
  test('gives a plain Uint8Array of the size asked, small or large', () => {
    for (const n of [0, 10, 4096, 100_000]) {
      const b = uninitializedBytes(n)
      expect(b.constructor).toBe(Uint8Array)
      expect(b.byteLength).toBe(n)
    }
  })
})
