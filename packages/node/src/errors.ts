import { EgtpError, isEgtpError, toHex } from '@egtp/interface'
import { MAX_REMOTE_ERROR_CHARS } from './constants.ts'

/**
 * A query's handler failed at the peer: `code` is ERR_REMOTE, `remoteCode` the code the handler's error
 * carried there (ERR_REMOTE when it had none), and the message includes the remote message.
 */
export class RemoteError extends EgtpError {
  readonly remoteCode: string
  readonly peerId: string
  constructor (peerId: string, type: string, remoteCode: string, remoteMessage: string) {
    super('ERR_REMOTE', `${type} handler at ${peerId} failed: ${remoteCode}: ${remoteMessage}`)
    this.remoteCode = remoteCode
    this.peerId = peerId
  }
}

/** The error a caller sees for a reply's error body. */
export function errorFromReply (peerId: string, type: string, e: { c: string, s: string }): EgtpError {
  if (e.c === 'ERR_NO_HANDLER') return new EgtpError('ERR_NO_HANDLER', `${peerId} has no handler for ${type}`)
  return new RemoteError(peerId, type, e.c, e.s)
}

/** The error body sent back when a handler throws: its code (if an EgtpError) and message, truncated. */
export function replyBodyForError (err: unknown): { c: string, s: string } {
  const code = isEgtpError(err) && err.code !== 'ERR_NO_HANDLER' ? err.code : 'ERR_REMOTE'
  let message = err instanceof Error ? err.message : String(err)
  if (isEgtpError(err)) message = message.replace(/^ERR_[A-Z_]+: /, '')
  return { c: code, s: message.slice(0, MAX_REMOTE_ERROR_CHARS) }
}

/** Why a message given up at its deadline failed (a peer refusing our clock says so). */
export function expiryError (peerId: string, clockSkew: { skewMs: number } | undefined, e: { kind: string, id: Uint8Array, attempts: number }): EgtpError {
  return clockSkewError(peerId, clockSkew, `message ${toHex(e.id)} to ${peerId} could not be delivered in time`) ?? (e.kind === 'o' && e.attempts > 0
    ? new EgtpError('ERR_DELIVERY_UNCERTAIN', `message ${toHex(e.id)} to ${peerId} was sent but not acknowledged in time`)
    : new EgtpError('ERR_TIMEOUT', `message ${toHex(e.id)} to ${peerId} could not be delivered in time`))
}

/** Why a message still held when the node stopped failed: uncertain when a one-way message was sent. */
export function stopError (e: { kind: string, id: Uint8Array, attempts: number }): EgtpError {
  return e.kind === 'o' && e.attempts > 0
    ? new EgtpError('ERR_DELIVERY_UNCERTAIN', `node stopped before message ${toHex(e.id)} was acknowledged`)
    : new EgtpError('ERR_CLOSED', 'node stopped')
}

/**
 * The error for a message to `peer` that could not be delivered in time while the peer refuses our session
 * setup as outside its clock window (it told us, signed): ERR_CLOCK_SKEW naming the peer and the skew.
 */
export function clockSkewError (peerId: string, clockSkew: { skewMs: number } | undefined, what: string): EgtpError | undefined {
  if (clockSkew === undefined) return undefined
  const skew = clockSkew.skewMs
  return new EgtpError('ERR_CLOCK_SKEW', `${what}: ${peerId} refuses our sessions as outside its clock window; our clock is ${Math.abs(skew)} ms ${skew >= 0 ? 'ahead of' : 'behind'} its clock`)
}
