/**
 * @packageDocumentation
 * The contracts every EGTP package shares: {@link Commstrat} and {@link Conn} for transports,
 * {@link Lookup}/{@link Discovery} for finding peers, {@link EgtpError} with stable codes, a typed
 * `EventTarget`, injected {@link Logger}s and {@link Clock}s. No runtime dependencies.
 *
 * @example
 * ```ts
 * import { EgtpError, isEgtpError } from '@egtp/interface'
 * try { await node.query(peer, 'ping', {}) } catch (err) { if (isEgtpError(err, 'ERR_TIMEOUT')) retryLater() }
 * ```
 */
export * from './abort.ts'
export * from './bytes.ts'
export * from './clock.ts'
export * from './commstrat.ts'
export * from './errors.ts'
export * from './events.ts'
export * from './fifo.ts'
export * from './logger.ts'
export * from './lookup.ts'
export * from './store.ts'
export * from './token-bucket.ts'
export * from './warnings.ts'
