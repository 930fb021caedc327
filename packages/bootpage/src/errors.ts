import type { EgtpErrorCode } from '@egtp/interface'

/** The codes this package throws or reports (per URL in `bootpage:refused`, per record in `refused`). */
export type BootpageErrorCode = Extract<EgtpErrorCode,
  | 'ERR_BOOTPAGE' | 'ERR_BOOTPAGE_MALFORMED' | 'ERR_BOOTPAGE_EXPIRED' | 'ERR_BOOTPAGE_TOO_LARGE' | 'ERR_BOOTPAGE_HTTP'
  | 'ERR_BOOTPAGE_REDIRECT' | 'ERR_BOOTPAGE_EMPTY' | 'ERR_VERSION' | 'ERR_KEY_MISMATCH' | 'ERR_SIGNATURE'
  | 'ERR_STALE_RECORD' | 'ERR_TIMEOUT' | 'ERR_UNREACHABLE' | 'ERR_RATE_LIMITED' | 'ERR_CLOSED' | 'ERR_BAD_NODE_ID'>
