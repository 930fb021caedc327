// Socket reads into one reused buffer instead of a new 64 KiB Buffer per read (each one external memory that
// only a GC frees: at bulk rates the reads alone kept a receiver in back-to-back mark-compacts).
import type { Socket } from 'node:net'
import { READ_BUFFER_BYTES } from './constants.ts'

/** Called with the bytes of one read, `buffer.subarray(0, nread)`, valid only until it returns. */
export type ReadHook = (this: Socket, nread: number, buffer: Uint8Array) => void

interface ReadFields { buffer: symbol, callback: symbol }

/**
 * The socket fields behind Node's documented `onread` option (`net.connect({ onread })`), found by name on a
 * socket: a server cannot pass that option for the sockets it accepts. Null when this Node has none.
 */
let fields: ReadFields | null | undefined

function readFields (socket: Socket): ReadFields | null {
  if (fields !== undefined) return fields
  const own = Object.getOwnPropertySymbols(socket)
  const buffer = own.find(s => s.description === 'kBuffer')
  const callback = own.find(s => s.description === 'kBufferCb')
  fields = buffer !== undefined && callback !== undefined ? { buffer, callback } : null
  return fields
}

/**
 * One buffer for every socket of the process: a read's bytes are consumed (decoded, copied out) before its
 * callback returns, and reads never overlap, so no socket needs its own.
 */
let shared: Uint8Array | undefined

type HandleWithUserBuffer = { useUserBuffer?: (buffer: Uint8Array) => void }

/**
 * Make `socket` read into the shared buffer (at most `maxReadBytes` of it) and call `onRead` instead of
 * emitting `data`, as `onread` does (`end`, `close`, `pause` and `resume` work as before). Returns false,
 * changing nothing, when this Node does not allow it or the socket already holds read data.
 */
export function readIntoSharedBuffer (socket: Socket, onRead: ReadHook, maxReadBytes = READ_BUFFER_BYTES): boolean {
  const handle = (socket as unknown as { _handle?: HandleWithUserBuffer | null })._handle
  if (typeof handle?.useUserBuffer !== 'function' || socket.readableLength > 0) return false
  const f = readFields(socket)
  if (f === null) return false
  const target = socket as unknown as Record<symbol, unknown>
  if (target[f.buffer] !== null || target[f.callback] !== null) return false // set already, or not Node's fields
  shared ??= new Uint8Array(READ_BUFFER_BYTES)
  const buffer = maxReadBytes < READ_BUFFER_BYTES ? shared.subarray(0, maxReadBytes) : shared
  target[f.buffer] = buffer
  target[f.callback] = onRead
  handle.useUserBuffer(buffer)
  return true
}
