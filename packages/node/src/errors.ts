import { EgtpError, isEgtpError } from '@egtp/interface'
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
