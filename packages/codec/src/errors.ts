import { EgtpError } from '@egtp/interface'
import type { EgtpErrorCode } from '@egtp/interface'

/** The codes the codec throws. */
export type CodecErrorCode = Extract<EgtpErrorCode, 'ERR_FRAME_TOO_LARGE' | 'ERR_MALFORMED' | 'ERR_UNKNOWN_TYPE' | 'ERR_FIELD' | 'ERR_VERSION'>

/**
 * A decoding or framing failure. It is an {@link EgtpError} (same `name`, so `isEgtpError` holds) with a
 * codec code: `ERR_FRAME_TOO_LARGE`, `ERR_MALFORMED` (not valid msgpack, or over the depth/size limits),
 * `ERR_UNKNOWN_TYPE` (unknown `t`), `ERR_FIELD` (a field is missing, extra, or of the wrong type or size),
 * `ERR_VERSION` (unsupported `v`).
 */
export class CodecError extends EgtpError {
  declare readonly code: CodecErrorCode
  constructor (code: CodecErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}
