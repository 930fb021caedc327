import { f } from '../schema.ts'

/** Raw node ID: 20 bytes (see @egtp/identity for how it is derived and written as text). */
export const NODE_ID_BYTES = 20
/** Ed25519 public keys and X25519 keys are 32 bytes; Ed25519 signatures 64. */
export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
/** Message IDs chosen by the sender: 16 random bytes. */
export const MESSAGE_ID_BYTES = 16

export const nodeIdField = (): ReturnType<typeof f.bytes> => f.bytes({ len: NODE_ID_BYTES })
export const publicKeyField = (): ReturnType<typeof f.bytes> => f.bytes({ len: PUBLIC_KEY_BYTES })
export const signatureField = (): ReturnType<typeof f.bytes> => f.bytes({ len: SIGNATURE_BYTES })
export const messageIdField = (): ReturnType<typeof f.bytes> => f.bytes({ len: MESSAGE_ID_BYTES })
/** A 32-bit session index chosen by a receiver. */
export const indexField = (): ReturnType<typeof f.uint> => f.uint({ max: 0xffff_ffff })

const hostField = f.str({ min: 1, max: 253, pattern: /^[A-Za-z0-9.:_-]+$/ })
const portField = f.uint({ max: 65_535 })

/** An endpoint as published in a contact record. */
export const endpointField = f.union('kind', {
  tcp: { host: hostField, port: portField },
  relay: { relay: f.str({ min: 1, max: 64 }), host: hostField, port: portField }
})
