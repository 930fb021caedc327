import type { Clock, Conn, TcpEndpoint } from '@egtp/interface'
import { createServer, connect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { onTestFinished } from 'vitest'
import { tcp } from '../../src/index.ts'
import type { TcpCommstrat, TcpComponents, TcpInit } from '../../src/index.ts'

export const LOOPBACK: TcpEndpoint = { kind: 'tcp', host: '127.0.0.1', port: 0 }

/** A clock that only moves when told to. */
export interface FakeClock extends Clock {
  advance: (ms: number) => void
}

export function fakeClock (start = 1_000): FakeClock {
  let t = start
  return { now: () => t, monotonic: () => t, advance: (ms) => { t += ms } }
}

/** A commstrat, stopped when the test finishes. */
export function make (init: TcpInit = {}, components: TcpComponents = {}): TcpCommstrat {
  const strat = tcp(init)(components)
  onTestFinished(async () => { await strat.stop() })
  return strat
}

/** A started commstrat listening on 127.0.0.1 (port 0), and the endpoint it bound. */
export async function listening (init: TcpInit = {}, components: TcpComponents = {}): Promise<{ strat: TcpCommstrat, endpoint: TcpEndpoint }> {
  const strat = make({ listen: [LOOPBACK], ...init }, components)
  await strat.start()
  const endpoint = strat.localEndpoints()[0]
  if (endpoint === undefined || !strat.canSend(endpoint)) throw new Error('no endpoint')
  return { strat, endpoint }
}

/** Resolve with the detail of the next `type` event. */
export async function nextEvent<T> (target: EventTarget, type: string): Promise<T> {
  return new Promise<T>(resolve => {
    target.addEventListener(type, (evt) => { resolve((evt as CustomEvent<T>).detail) }, { once: true })
  })
}

/** Collect every frame a Conn receives. */
export function collect (conn: Conn): Uint8Array[] {
  const frames: Uint8Array[] = []
  conn.addEventListener('message', ({ detail }) => { frames.push(detail) })
  return frames
}

/** A plain node:net server recording raw bytes; closed when the test finishes. */
export async function rawServer (options: { pauseOnConnect?: boolean } = {}): Promise<{ server: Server, endpoint: TcpEndpoint, sockets: Socket[], received: () => number }> {
  const sockets: Socket[] = []
  let received = 0
  const server = createServer({ pauseOnConnect: options.pauseOnConnect === true }, socket => {
    sockets.push(socket)
    socket.on('data', (chunk: Buffer) => { received += chunk.byteLength })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => { resolve() }))
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('not bound')
  return { server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: address.port }, sockets, received: () => received }
}

/** A plain node:net client socket, destroyed when the test finishes. */
export async function rawClient (endpoint: TcpEndpoint): Promise<Socket> {
  const socket = connect({ host: endpoint.host, port: endpoint.port })
  socket.on('error', () => {})
  onTestFinished(() => { socket.destroy() })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return socket
}

/** Resolve when `socket` has closed (either side). */
export async function socketClosed (socket: Socket): Promise<void> {
  if (socket.closed) return
  await new Promise<void>(resolve => socket.once('close', () => { resolve() }))
}

export const bytes = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill)

/** Let timers and I/O run for `ms` (only ever used to show that something does NOT happen). */
export const settle = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
