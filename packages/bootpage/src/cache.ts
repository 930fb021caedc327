import { EgtpError } from '@egtp/interface'
import type { KeyValueStore } from '@egtp/interface'
import { BOOTPAGE_CACHE_KEY, BOOTPAGE_CACHE_VERSION } from './constants.ts'

/** What the cache holds: the page exactly as fetched, when, and from where. It is verified again on use. */
export interface CachedPage {
  savedAt: number
  url: string
  page: string
}

const FORMAT = 'egtp-bootpage-cache'
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export async function writeCache (store: KeyValueStore, url: string, savedAt: number, page: Uint8Array): Promise<void> {
  const doc = { format: FORMAT, version: BOOTPAGE_CACHE_VERSION, savedAt, url, page: decoder.decode(page) }
  await store.put(BOOTPAGE_CACHE_KEY, encoder.encode(JSON.stringify(doc)))
}

/**
 * The cached page, or `undefined` when there is none.
 * @throws {EgtpError} ERR_BOOTPAGE_MALFORMED for a damaged or oversized cache entry
 */
export async function readCache (store: KeyValueStore, maxPageBytes: number): Promise<CachedPage | undefined> {
  const bytes = await store.get(BOOTPAGE_CACHE_KEY)
  if (bytes === undefined) return undefined
  let doc: unknown
  try {
    doc = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new EgtpError('ERR_BOOTPAGE_MALFORMED', 'the cached bootpage is not JSON', { cause: err })
  }
  const d = doc as Partial<Record<keyof CachedPage | 'format' | 'version', unknown>>
  if (doc === null || typeof doc !== 'object' || d.format !== FORMAT || d.version !== BOOTPAGE_CACHE_VERSION ||
    typeof d.savedAt !== 'number' || !Number.isSafeInteger(d.savedAt) || typeof d.url !== 'string' || typeof d.page !== 'string') {
    throw new EgtpError('ERR_BOOTPAGE_MALFORMED', 'the cached bootpage entry is damaged')
  }
  if (encoder.encode(d.page).length > maxPageBytes) throw new EgtpError('ERR_BOOTPAGE_TOO_LARGE', `the cached bootpage exceeds ${maxPageBytes} bytes`)
  return { savedAt: d.savedAt, url: d.url, page: d.page }
}
