// A JSON-safe form of decoded wire values: byte strings become { $hex: '…' } (or, above LARGE_BYTES, their
// SHA-256 and length: the frame's own bytes are stored whole), everything else is as decoded.
import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'

/** Byte strings longer than this are recorded by digest in values, and frames longer than this gzipped. */
export const LARGE_BYTES = 4096

export function toJsonSafe (v: unknown): unknown {
  if (v instanceof Uint8Array) {
    if (v.byteLength > LARGE_BYTES) return { $sha256: createHash('sha256').update(v).digest('hex'), length: v.byteLength }
    return { $hex: hex(v) }
  }
  if (Array.isArray(v)) return v.map(toJsonSafe)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = toJsonSafe(x)
    return out
  }
  return v
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

/** A frame as stored: hex, or base64 of its gzip when large (the corpus patterns compress to almost nothing). */
export function storeBytes (b: Uint8Array): { hex: string } | { gzip: string } {
  return b.byteLength > LARGE_BYTES ? { gzip: gzipSync(b, { level: 9 }).toString('base64') } : { hex: hex(b) }
}

export function loadBytes (entry: { hex?: string, gzip?: string }): Uint8Array {
  if (entry.hex !== undefined) return unhex(entry.hex)
  return new Uint8Array(gunzipSync(Buffer.from(entry.gzip ?? '', 'base64')))
}
