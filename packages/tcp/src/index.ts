/**
 * @packageDocumentation
 * The EGTP TCP commstrat: `tcp(init)(components)` gives a {@link TcpCommstrat} that is both a `Transport`
 * (`dial`/`listen` hand out framed connections: u32 big-endian length + opaque body, from `@egtp/codec`) and a
 * `Commstrat` (one managed connection per remote endpoint, reused both ways, idle ones closed, connection caps,
 * bounded send queues with backpressure, optional bandwidth throttling). It carries opaque frames and knows
 * nothing of sessions.
 *
 * @example
 * ```ts
 * import { tcp } from '@egtp/tcp'
 * const a = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()
 * const b = tcp()()
 * await a.start()
 * await b.start()
 * a.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame) }) // echo
 * b.addEventListener('frame', ({ detail }) => { console.log('echoed', detail.frame) })
 * await b.send('peer-a', a.localEndpoints()[0]!, Uint8Array.of(1, 2, 3), { expectReply: true })
 * ```
 */
// Each option's default by name: `@egtp/tcp/defaults` (the README's option table documents them).
export { MAX_FRAME_BYTES_LIMIT, MAX_TIMEOUT_MS, MAX_QUEUED_BYTES_LIMIT, FLUSH_THRESHOLD_BYTES, READ_BUFFER_BYTES, THROTTLED_READ_BYTES } from './constants.ts'
export type { TcpInit, TcpThrottleInit } from './config.ts'
export { tcp, TcpCommstrat } from './tcp.ts'
export type { TcpComponents, TcpCommstratEvents, TcpConnectionInfo, TcpRejectReason, TcpStats } from './types.ts'
export type { TcpConn } from './conn.ts'
export type { TcpListener } from './listener.ts'
export { TokenBucket, MAX_THROTTLE_WAIT_MS } from './token-bucket.ts'
