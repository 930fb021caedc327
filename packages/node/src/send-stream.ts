import type { AbortOptions } from '@egtp/interface'
import type { SendOptions } from './types.ts'

/** Options of `sendStream`: `timeoutMs` applies to each message; `signal` errors the stream. */
export interface SendStreamOptions extends AbortOptions {
  /** Per-message delivery deadline (ms), as `send`'s `timeoutMs`. */
  timeoutMs?: number
}

/** The node's methods a send stream uses (its public API only). */
export interface SendStreamTarget {
  send: (peerId: string, type: string, payload?: unknown, options?: SendOptions) => Promise<void>
  writable: (peerId: string) => boolean
  ready: (peerId: string, options?: AbortOptions) => Promise<void>
}

/**
 * A `WritableStream` of one-way messages of `type` to `peerId`. Its backpressure is the node's send window:
 * `write()` resolves as soon as the message is accepted (the window has room), not when it is acknowledged,
 * so `await writer.write(x)` in a loop keeps the window full and never over it. The first failed message
 * errors the stream (later writes reject with its error); `close()` resolves once every message written was
 * acknowledged, or rejects with the first failure. An abort of `options.signal` errors the stream: messages
 * already accepted still run to their outcome.
 */
export function sendStream (target: SendStreamTarget, peerId: string, type: string, options: SendStreamOptions = {}): WritableStream<unknown> {
  const { signal } = options
  const sendOptions: SendOptions = options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}
  const inFlight = new Set<Promise<void>>()
  let failure: { error: unknown } | undefined
  let onAbort: (() => void) | undefined
  const fail = (controller: WritableStreamDefaultController, error: unknown): void => {
    if (failure !== undefined) return
    failure = { error }
    controller.error(error)
  }
  return new WritableStream<unknown>({
    start (controller) {
      signal?.throwIfAborted()
      if (signal !== undefined) {
        onAbort = () => { fail(controller, signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
      }
    },
    async write (payload, controller) {
      if (failure !== undefined) throw failure.error
      if (!target.writable(peerId)) await target.ready(peerId, signal !== undefined ? { signal } : {})
      const sent: Promise<void> = target.send(peerId, type, payload, sendOptions).then(
        () => { inFlight.delete(sent) },
        (err: unknown) => {
          inFlight.delete(sent)
          fail(controller, err)
        })
      inFlight.add(sent)
    },
    async close () {
      while (inFlight.size > 0) await Promise.all([...inFlight])
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
      if (failure !== undefined) throw failure.error
    },
    abort () {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }, { highWaterMark: 1 })
}
