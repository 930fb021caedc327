// A tracker's (or relay's) signed record as people pass it around: the base64 of the record, or the JSON ready
// line that `egtp-metatracker` and `egtp-relay` print on start (its `record` field).
import { decodeContactRecord } from '@egtp/identity'
import { EgtpError } from '@egtp/interface'
import type { ContactRecord } from '@egtp/interface'

const BASE64 = /^[A-Za-z0-9+/=_-]+$/

/**
 * The contact record in `text`: base64 (standard or URL-safe), or a JSON line whose `record` field is that
 * base64 (only the first line is read). Decoded and verified.
 * @throws {EgtpError} ERR_MALFORMED for text that is neither; the decoder's error (ERR_SIGNATURE, ERR_STALE_RECORD, …)
 */
export function contactRecordFromText (text: string): ContactRecord {
  let base64 = text.trim()
  if (base64.startsWith('{')) {
    let line: unknown
    try { line = JSON.parse(base64.split('\n')[0]!) } catch { throw new EgtpError('ERR_MALFORMED', 'neither base64 nor a JSON ready line with a record') }
    const record = (line as { record?: unknown } | null)?.record
    if (typeof record !== 'string') throw new EgtpError('ERR_MALFORMED', 'the JSON line has no "record" field')
    base64 = record.trim()
  }
  if (!BASE64.test(base64)) throw new EgtpError('ERR_MALFORMED', 'not a base64 contact record')
  return decodeContactRecord(Buffer.from(base64, 'base64'))
}
