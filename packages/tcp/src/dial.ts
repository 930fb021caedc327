import { EgtpError } from '@egtp/interface'
import type { TcpEndpoint } from '@egtp/interface'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { formatAddress } from './conn.ts'

/**
 * The dials in flight of one instance, to cancel when it stops: a set of functions rather than an `AbortSignal`
 * listened to by every dial (an `addEventListener` and a `removeEventListener` per dial, costly on a fresh
 * peer's path, which runs in V8's interpreter).
 */
export interface DialRegistry {
  /** True once stopped: a new dial fails at once with `ERR_CLOSED`. */
  readonly stopped: boolean
  /** Each dial's cancellation while it is in flight. */
  readonly cancels: Set<() => void>
}

/**
 * Open a TCP socket. Fails fast: refused, unreachable or not connected within `timeoutMs` gives
 * `ERR_UNREACHABLE`; `signal` aborting rethrows its reason untouched; the instance stopping gives `ERR_CLOSED`.
 * `opened` is told the socket as soon as it exists (before it connects: bytes written then go out on connect;
 * a failed dial destroys it, and them).
 */
export async function dialSocket (endpoint: TcpEndpoint, timeoutMs: number, signal: AbortSignal | undefined,
  dials: DialRegistry, opened?: (socket: Socket) => void): Promise<Socket> {
  signal?.throwIfAborted()
  if (dials.stopped) throw new EgtpError('ERR_CLOSED', `cannot dial ${formatAddress(endpoint.host, endpoint.port)}: stopped`)
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true })
    const address = (): string => formatAddress(endpoint.host, endpoint.port) // for errors only
    const fail = (err: unknown): void => {
      cleanup()
      socket.destroy()
      reject(err)
    }
    const onConnect = (): void => {
      cleanup()
      resolve(socket)
    }
    const onError = (err: Error): void => {
      fail(new EgtpError('ERR_UNREACHABLE', `cannot connect to ${address()}`, { cause: err }))
    }
    const onAbort = (): void => { fail(signal?.reason) }
    const onStop = (): void => { fail(new EgtpError('ERR_CLOSED', `dial to ${address()} cancelled: stopped`)) }
    const timer = setTimeout(() => {
      fail(new EgtpError('ERR_UNREACHABLE', `cannot connect to ${address()}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      // Plain listeners removed here rather than `once` ones: no wrapper per listener.
      socket.removeListener('connect', onConnect)
      socket.removeListener('error', onError)
      signal?.removeEventListener('abort', onAbort)
      dials.cancels.delete(onStop)
    }
    socket.on('connect', onConnect)
    socket.on('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
    dials.cancels.add(onStop)
    opened?.(socket)
  })
}
