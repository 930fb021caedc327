// The errors the session layer throws on untrusted input (codes are the contract: @egtp/interface errors.ts).
import { EgtpError } from '@egtp/interface'

/**
 * An initiation refused by a manager: the error carries the frames to send back to its sender (the signed
 * clock-window notice, the cookie reply of a responder under load), since a refusal has no OpenResult. See
 * {@link refusalReplies}.
 */
export interface SessionRefusal extends EgtpError {
  replies?: Uint8Array[]
}

/** Frames to send back for an error thrown by `open` (a clock-window notice, a cookie reply), else none. */
export function refusalReplies (err: unknown): Uint8Array[] {
  const replies = (err as SessionRefusal | undefined)?.replies
  return Array.isArray(replies) ? replies : []
}

/** A refusal with the frames to answer it with (none when `replies` is undefined or empty). */
export function refusal (code: EgtpError['code'], text: string, replies?: Uint8Array[], cause?: unknown): SessionRefusal {
  const err: SessionRefusal = new EgtpError(code, text, cause === undefined ? undefined : { cause })
  if (replies !== undefined && replies.length > 0) err.replies = replies
  return err
}

/** ERR_AUTH, vague on purpose (which check failed is not said); an ERR_AUTH cause is passed on as it is. */
export function authFailed (cause?: unknown): EgtpError {
  if (cause instanceof EgtpError && cause.code === 'ERR_AUTH') return cause
  return new EgtpError('ERR_AUTH', 'message authentication failed', cause === undefined ? undefined : { cause })
}

export function rateLimited (): EgtpError {
  return new EgtpError('ERR_RATE_LIMITED', 'too many handshakes')
}
