import { defineMessage, f } from '../schema.ts'
import { endpointField, nodeIdField, publicKeyField, signatureField } from './common.ts'

export const MAX_ENDPOINTS = 16
export const MAX_SERVICES = 16

/** The fields of a contact record that its signature covers (canonical order). */
export const contactRecordFields = {
  id: nodeIdField(),
  k: publicKeyField(),
  q: f.uint(),
  x: f.uint(),
  e: f.array(endpointField, { max: MAX_ENDPOINTS }),
  s: f.array(f.str({ min: 1, max: 32 }), { max: MAX_SERVICES })
}

/** A signed contact record: `g` signs the canonical encoding of the other fields. */
export const ContactRecordMessage = defineMessage('cr', { ...contactRecordFields, g: signatureField() })

export const recordMessages = [ContactRecordMessage] as const
