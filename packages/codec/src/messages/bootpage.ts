import { f } from '../schema.ts'
import { publicKeyField, signatureField } from './common.ts'
import { contactRecordFields } from './record.ts'

/** The bootpage format version this codec reads and writes (the signed `v`; see docs/protocol/bootpage.md). */
export const BOOTPAGE_FORMAT_VERSION = 1
/** Most contact records one bootpage may list. */
export const MAX_BOOTPAGE_RECORDS = 64

/**
 * The value a bootpage's signature covers (context `egtp/bootpage/v1`), in canonical key order: format version
 * `v`, signer public key `k`, issue time `i` and expiry `x` (Unix ms), and the listed contact records `r`, each
 * with its own signature `g`. The page file is JSON that spells these fields out; verifiers rebuild this value
 * from the JSON and check the signature over its canonical bytes.
 */
export const bootpageSignedFields = {
  v: f.uint({ max: 255 }),
  k: publicKeyField(),
  i: f.uint(),
  x: f.uint(),
  r: f.array(f.struct({ ...contactRecordFields, g: signatureField() }), { max: MAX_BOOTPAGE_RECORDS })
}

/** Bounds check of a bootpage's signed value (exact keys, byte lengths, record count). */
export const bootpageSignedValue = f.struct(bootpageSignedFields)
