import { describe, expect, test } from 'vitest'
import { MAX_FRAME_BYTES_LIMIT, tcp } from '../src/index.ts'
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_INBOUND_PER_ADDRESS, DEFAULT_MAX_QUEUED_BYTES_PER_CONN
} from '../src/defaults.ts'
import { resolveConfig } from '../src/config.ts'

describe('config', () => {
  test('defaults are the exported constants', () => {
    expect(resolveConfig({})).toMatchObject({
      listen: [],
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      maxInboundPerAddress: DEFAULT_MAX_INBOUND_PER_ADDRESS,
      maxQueuedBytesPerConn: DEFAULT_MAX_QUEUED_BYTES_PER_CONN
    })
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(1024 * 1024)
    expect(resolveConfig({}).throttle).toBeUndefined()
  })

  test('maxFrameBytes cannot exceed the 16 MiB hard cap', () => {
    expect(resolveConfig({ maxFrameBytes: MAX_FRAME_BYTES_LIMIT }).maxFrameBytes).toBe(16 * 1024 * 1024)
    expect(() => tcp({ maxFrameBytes: MAX_FRAME_BYTES_LIMIT + 1 })).toThrow(RangeError)
  })

  test.each([
    [{ connectTimeoutMs: 0 }], [{ idleTimeoutMs: -1 }], [{ maxConnections: 0 }], [{ maxInboundPerAddress: 1.5 }],
    [{ maxQueuedBytesPerConn: Number.NaN }], [{ sendTimeoutMs: 10 * 3_600_000 }],
    [{ throttle: { outBytesPerSec: 0 } }], [{ throttle: { inBytesPerSec: Number.POSITIVE_INFINITY } }],
    [{ listen: [{ kind: 'tcp' as const, host: '127.0.0.1', port: 70_000 }] }]
  ])('a bad setting %o is a RangeError at construction', (init) => {
    expect(() => tcp(init)).toThrow(RangeError)
  })

  test('a listen endpoint without a host is a TypeError', () => {
    expect(() => tcp({ listen: [{ kind: 'tcp', host: '', port: 0 }] })).toThrow(TypeError)
  })

  test('port 0 may be listened on but not announced or dialed', async () => {
    expect(() => tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })).not.toThrow()
    expect(() => tcp({ announce: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })).toThrow(RangeError)
    const strat = tcp()()
    await expect(strat.dial({ kind: 'tcp', host: '127.0.0.1', port: 0 })).rejects.toThrow(RangeError)
    expect(strat.canSend({ kind: 'tcp', host: '127.0.0.1', port: 0 })).toBe(false)
    await strat.stop()
  })
})
