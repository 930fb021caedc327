// The local control socket of `egtp-node run --state-dir DIR`: DIR/control.sock, mode 0600 in a 0700
// directory. Newline-delimited JSON: a request `{id, op, …}` gets one answer `{id, ok, value}` or
// `{id, ok: false, code, message}`; `watch` also streams `{event: 'message', …}` lines until the client leaves.
// ping/send/query/chat/status are clients of it: that is how two people on one machine chat with nothing but
// egtp-node commands.
import { chmodSync, existsSync, unlinkSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { join } from 'node:path'
import { EgtpError, isEgtpError } from '@egtp/interface'

/** The socket's file name inside the state directory. */
export const CONTROL_SOCKET_NAME = 'control.sock'
/** Longest request line accepted (bytes); longer input closes the connection with ERR_FRAME_TOO_LARGE. */
export const DEFAULT_MAX_CONTROL_LINE_BYTES = 1024 * 1024
/** Control connections open at once; more are refused. */
export const DEFAULT_MAX_CONTROL_CONNECTIONS = 32

export const controlSocketPath = (stateDir: string): string => join(stateDir, CONTROL_SOCKET_NAME)

export interface ControlRequest { id: number, op: string, [key: string]: unknown }

/** Answers one request; `push` streams events to this client (for `watch`). */
export type ControlHandler = (request: ControlRequest, push: (event: Record<string, unknown>) => void, onClose: (fn: () => void) => void) => Promise<unknown>

function errorLine (id: unknown, err: unknown): string {
  const code = isEgtpError(err) ? err.code : err instanceof TypeError || err instanceof RangeError ? 'ERR_FIELD' : 'ERR_REMOTE'
  const message = (err as Error).message.replace(/^ERR_[A-Z_]+: /, '')
  return `${JSON.stringify({ id: typeof id === 'number' ? id : null, ok: false, code, message })}\n`
}

export interface ControlServerInit {
  maxLineBytes?: number
  maxConnections?: number
}

/**
 * Listen on `path`. A socket file left by a dead node is replaced; one a live node answers on is an error
 * (two nodes on one state directory would share its key and journal).
 */
export async function listenControl (path: string, handler: ControlHandler, init: ControlServerInit = {}): Promise<Server> {
  const maxLine = init.maxLineBytes ?? DEFAULT_MAX_CONTROL_LINE_BYTES
  const maxConns = init.maxConnections ?? DEFAULT_MAX_CONTROL_CONNECTIONS
  if (existsSync(path)) {
    const alive = await new Promise<boolean>((resolve) => {
      const probe = createConnection(path)
      probe.once('connect', () => { probe.destroy(); resolve(true) })
      probe.once('error', () => { resolve(false) })
    })
    if (alive) throw new EgtpError('ERR_ADDRESS_IN_USE', `another egtp-node runs with this state directory (${path} answers)`)
    unlinkSync(path)
  }
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    if (sockets.size >= maxConns) { socket.end(errorLine(null, new EgtpError('ERR_LIMIT', 'too many control connections'))); return }
    sockets.add(socket)
    const closers: Array<() => void> = []
    socket.on('close', () => { sockets.delete(socket); for (const fn of closers) fn() })
    socket.on('error', () => {})
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffered += chunk
      if (buffered.length > maxLine && !buffered.includes('\n')) {
        socket.end(errorLine(null, new EgtpError('ERR_FRAME_TOO_LARGE', `a control line exceeds ${maxLine} bytes`)))
        buffered = ''
        return
      }
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (line.trim() === '') continue
        let request: ControlRequest
        try {
          request = JSON.parse(line) as ControlRequest
          if (typeof request !== 'object' || request === null || typeof request.op !== 'string' || typeof request.id !== 'number') throw new Error('needs a numeric id and a string op')
        } catch (err) {
          socket.write(errorLine(null, new EgtpError('ERR_MALFORMED', `not a control request: ${(err as Error).message}`)))
          continue
        }
        // Events for a client that does not read are dropped past a bound, not buffered without end.
        const push = (event: Record<string, unknown>): void => {
          if (!socket.destroyed && socket.writableLength <= maxLine) socket.write(`${JSON.stringify(event)}\n`)
        }
        handler(request, push, (fn) => { closers.push(fn) }).then(
          (value) => { if (!socket.destroyed) socket.write(`${JSON.stringify({ id: request.id, ok: true, value: value ?? null })}\n`) },
          (err: unknown) => { if (!socket.destroyed) socket.write(errorLine(request.id, err)) }
        )
      }
    })
  })
  const oldMask = process.umask(0o177) // the socket is created 0600, never briefly wider
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => { server.off('error', reject); resolve() })
    })
  } finally {
    process.umask(oldMask)
  }
  chmodSync(path, 0o600)
  const close = server.close.bind(server)
  server.close = (cb) => { for (const s of sockets) s.destroy(); return close(cb) }
  return server
}

/** A client of a running node's control socket. */
export class ControlClient {
  readonly #socket: Socket
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  readonly #listeners: Array<(event: Record<string, unknown>) => void> = []
  #nextId = 1
  #closed: Error | undefined

  private constructor (socket: Socket) {
    this.#socket = socket
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffered += chunk
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        let msg: Record<string, unknown>
        try { msg = JSON.parse(line) as Record<string, unknown> } catch { continue }
        if (typeof msg.event === 'string') { for (const l of this.#listeners) l(msg); continue }
        const waiter = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined
        if (waiter === undefined) continue
        this.#pending.delete(msg.id as number)
        if (msg.ok === true) waiter.resolve(msg.value)
        else waiter.reject(new EgtpError((msg.code ?? 'ERR_REMOTE') as never, String(msg.message ?? 'failed')))
      }
    })
    socket.on('close', () => {
      const closed = new EgtpError('ERR_CLOSED', 'the node closed the control connection')
      this.#closed = closed
      for (const w of this.#pending.values()) w.reject(closed)
      this.#pending.clear()
    })
    socket.on('error', () => {})
  }

  /** Connect to the node running with `stateDir`. @throws {EgtpError} ERR_UNREACHABLE when none runs there */
  static async connect (stateDir: string): Promise<ControlClient> {
    const path = controlSocketPath(stateDir)
    const socket = createConnection(path)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', (err: NodeJS.ErrnoException) => {
        reject(new EgtpError('ERR_UNREACHABLE', `no egtp-node runs with state directory ${stateDir} (${err.code ?? err.message} on ${path}); start one with \`egtp-node run --state-dir ${stateDir}\``))
      })
    })
    return new ControlClient(socket)
  }

  async call (op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#closed !== undefined) throw this.#closed
    const id = this.#nextId++
    return await new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#socket.write(`${JSON.stringify({ ...args, id, op })}\n`)
    })
  }

  onEvent (listener: (event: Record<string, unknown>) => void): void {
    this.#listeners.push(listener)
  }

  close (): void {
    this.#socket.end()
  }
}
