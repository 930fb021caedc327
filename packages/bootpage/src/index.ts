/**
 * @packageDocumentation
 * The EGTP bootpage: a JSON page, signed by a known key, listing metatracker (and relay) contact records. A new
 * node fetches it over HTTP(S) with the platform's `fetch`, verifies it and every record in it, and hands the
 * trackers to its metatracker client. Also signs pages (`createBootpage`) for the `egtp-bootpage` tool.
 */
export {
  BOOTPAGE_CONTEXT, BOOTPAGE_FORMAT, TRACKER_SERVICE, RELAY_SERVICE, DEFAULT_FETCH_TIMEOUT_MS, MAX_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_BOOTPAGE_BYTES, MAX_BOOTPAGE_BYTES_LIMIT, DEFAULT_MAX_REDIRECTS, MAX_REDIRECTS_LIMIT,
  DEFAULT_MIN_RELOAD_INTERVAL_MS, MAX_MIN_RELOAD_INTERVAL_MS, DEFAULT_STAGGER_MS, MAX_BOOTPAGE_URLS,
  BOOTPAGE_CACHE_KEY, BOOTPAGE_CACHE_VERSION
} from './constants.ts'
export { BOOTPAGE_FORMAT_VERSION, MAX_BOOTPAGE_RECORDS } from '@egtp/codec'
export { createBootpage, parseBootpage, verifyBootpage, bootpageSignatureHolds } from './format.ts'
export type { Bootpage, VerifiedBootpage, RefusedRecord, CreateBootpageInit, VerifyBootpageOptions } from './format.ts'
export { checkBootpageSource, parseBootpageKey } from './key.ts'
export type { BootpageSigner } from './key.ts'
export { createBootpageLoader, BootpageLoader } from './loader.ts'
export type { BootpageLoaderInit, BootpageResult, BootpageLoaderEvents } from './loader.ts'
export type { FetchFunction } from './http.ts'
export type { BootpageErrorCode } from './errors.ts'
