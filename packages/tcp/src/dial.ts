import { EgtpError } from '@egtp/interface'
import type { TcpEndpoint } from '@egtp/interface'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { formatAddress } from './conn.ts'

/**
 * Open a TCP socket. Fails fast: refused, unreachable or not connected within `timeoutMs` gives
 * `ERR_UNREACHABLE`; `signal` aborting rethrows its reason untouched; `shutdown` aborting gives `ERR_CLOSED`.
 */
export async function dialSocket (endpoint: TcpEndpoint, timeoutMs: number, signal: AbortSignal | undefined,
  shutdown: AbortSignal): Promise<Socket> {
  signal?.throwIfAborted()
  const address = formatAddress(endpoint.host, endpoint.port)
  if (shutdown.aborted) throw new EgtpError('ERR_CLOSED', `cannot dial ${address}: stopped`)
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true })
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
      fail(new EgtpError('ERR_UNREACHABLE', `cannot connect to ${address}`, { cause: err }))
    }
    const onAbort = (): void => { fail(signal?.reason) }
    const onShutdown = (): void => { fail(new EgtpError('ERR_CLOSED', `dial to ${address} cancelled: stopped`)) }
    const timer = setTimeout(() => {
      fail(new EgtpError('ERR_UNREACHABLE', `cannot connect to ${address}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('connect', onConnect)
      socket.off('error', onError)
      signal?.removeEventListener('abort', onAbort)
      shutdown.removeEventListener('abort', onShutdown)
    }
    socket.once('connect', onConnect)
    socket.once('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
    shutdown.addEventListener('abort', onShutdown, { once: true })
  })
}
