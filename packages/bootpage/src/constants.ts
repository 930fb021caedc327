/** The context string a bootpage is signed under (see `signCanonical` in @egtp/identity). */
export const BOOTPAGE_CONTEXT = 'egtp/bootpage/v1'
/** The `format` field of every bootpage JSON document. */
export const BOOTPAGE_FORMAT = 'egtp-bootpage'
/** The service name of metatracker records and of relay records in a page. */
export const TRACKER_SERVICE = 'metatracker'
export const RELAY_SERVICE = 'relay'

/** Whole request per URL (headers, redirects and body): a slow or slowloris mirror is given up after this. */
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000
export const MAX_FETCH_TIMEOUT_MS = 120_000
/** Largest page body read (counted while streaming, after any content decoding). A real page is a few KiB. */
export const DEFAULT_MAX_BOOTPAGE_BYTES = 256 * 1024
export const MAX_BOOTPAGE_BYTES_LIMIT = 4 * 1024 * 1024
/** Redirects followed per URL (http and https targets only; never from https down to http). */
export const DEFAULT_MAX_REDIRECTS = 3
export const MAX_REDIRECTS_LIMIT = 10
/** Least time between two network loads, so that a node cannot hammer a mirror (v1: 90 s, as in 2004). */
export const DEFAULT_MIN_RELOAD_INTERVAL_MS = 90_000
export const MAX_MIN_RELOAD_INTERVAL_MS = 24 * 3_600_000
/** After this long without an answer from one URL, the next URL is tried in parallel with it. */
export const DEFAULT_STAGGER_MS = 2_000
/** Most URLs one loader accepts. */
export const MAX_BOOTPAGE_URLS = 16
/** The key under which the last good page is cached in the loader's store. */
export const BOOTPAGE_CACHE_KEY = 'bootpage'
/** The cache file's format version. */
export const BOOTPAGE_CACHE_VERSION = 1
