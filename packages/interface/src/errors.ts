/**
 * Every operational failure in EGTP is an {@link EgtpError} with a stable `code`. The code is the contract;
 * messages may change. Packages add their codes to {@link EgtpErrorCode}.
 */
export type EgtpErrorCode =
  // codec
  | 'ERR_FRAME_TOO_LARGE' | 'ERR_MALFORMED' | 'ERR_UNKNOWN_TYPE' | 'ERR_FIELD' | 'ERR_VERSION'
  // identity
  | 'ERR_BAD_NODE_ID' | 'ERR_KEY_MISMATCH' | 'ERR_SIGNATURE' | 'ERR_KEYSTORE' | 'ERR_KEYSTORE_PERMISSIONS'
  | 'ERR_KEYSTORE_CORRUPT' | 'ERR_KEY_EXISTS'
  // session
  | 'ERR_HANDSHAKE' | 'ERR_AUTH' | 'ERR_REPLAY' | 'ERR_SELF' | 'ERR_CLOCK_WINDOW' | 'ERR_CLOCK_SKEW' | 'ERR_UNKNOWN_SESSION'
  | 'ERR_RATE_LIMITED' | 'ERR_SESSION_EXPIRED' | 'ERR_LIMIT'
  // transport and node
  | 'ERR_CLOSED' | 'ERR_UNREACHABLE' | 'ERR_ADDRESS_IN_USE' | 'ERR_LISTEN' | 'ERR_BACKPRESSURE' | 'ERR_TIMEOUT'
  | 'ERR_REMOTE' | 'ERR_NO_HANDLER' | 'ERR_NOT_FOUND' | 'ERR_TOO_MANY_PENDING' | 'ERR_NOT_STARTED'
  | 'ERR_DELIVERY_UNCERTAIN' | 'ERR_DISCONNECTED'
  // relay, metatracker, bootpage
  | 'ERR_RELAY_REFUSED' | 'ERR_RELAY_FULL' | 'ERR_RELAY_UNKNOWN_RECIPIENT' | 'ERR_RELAY_STORE'
  | 'ERR_BOOTPAGE' | 'ERR_STALE_RECORD' | 'ERR_RECORD_EXPIRED' | 'ERR_RECORD_TOO_LARGE' | 'ERR_TRACKER_STORE'
  | 'ERR_BOOTPAGE_MALFORMED' | 'ERR_BOOTPAGE_EXPIRED' | 'ERR_BOOTPAGE_TOO_LARGE' | 'ERR_BOOTPAGE_HTTP'
  | 'ERR_BOOTPAGE_REDIRECT' | 'ERR_BOOTPAGE_EMPTY'

/**
 * What a failed send failed at, said by the commstrat that knows (its caller need not know its error codes):
 * - `endpoint`: this way to the peer (a relay that is down, full, or does not know the peer; a connection that
 *   closed). Another endpoint of the peer may work now.
 * - `peer`: the peer itself (it refused the frame); every endpoint would fail alike.
 */
export type EgtpErrorScope = 'endpoint' | 'peer'

/** Options common to every error constructor: the cause is always chained. */
export interface EgtpErrorOptions extends ErrorOptions {
  /** The same attempt may succeed later (the condition is temporary). Unset: unknown. */
  retryable?: boolean
  /** What the failure is about; see {@link EgtpErrorScope}. Unset: not a send failure, or unknown. */
  scope?: EgtpErrorScope
}

/**
 * The one operational error class of EGTP.
 * @example
 * ```ts
 * throw new EgtpError('ERR_UNREACHABLE', '127.0.0.1:4000 refused the connection', { cause: err })
 * ```
 */
export class EgtpError extends Error {
  override readonly name = 'EgtpError'
  readonly code: EgtpErrorCode
  /** See {@link EgtpErrorOptions.retryable}. */
  readonly retryable?: boolean
  /** See {@link EgtpErrorScope}. */
  readonly scope?: EgtpErrorScope

  constructor (code: EgtpErrorCode, message: string, options?: EgtpErrorOptions) {
    super(`${code}: ${message}`, options)
    this.code = code
    if (options?.retryable !== undefined) this.retryable = options.retryable
    if (options?.scope !== undefined) this.scope = options.scope
  }
}

/**
 * True when `err` is an {@link EgtpError} (optionally with the given code). Checks `name` and `code`, not
 * `instanceof`, so it holds across duplicate installs of this package.
 */
export const isEgtpError = (err: unknown, code?: EgtpErrorCode): err is EgtpError =>
  err instanceof Error && err.name === 'EgtpError' && typeof (err as EgtpError).code === 'string' &&
  (code === undefined || (err as EgtpError).code === code)

/** True for the DOMException an aborted or timed-out signal throws. */
export const isAbortError = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')
