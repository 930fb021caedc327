import { EgtpError, TypedEventTarget, disabledComponentLogger, isEgtpError, systemClock } from '@egtp/interface'
import type { AbortOptions, Clock, ComponentLogger, KeyValueStore, Logger } from '@egtp/interface'
import { FileStore } from '@egtp/identity'
import { readCache, writeCache } from './cache.ts'
import {
  DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BOOTPAGE_BYTES, DEFAULT_MAX_REDIRECTS, DEFAULT_MIN_RELOAD_INTERVAL_MS,
  DEFAULT_STAGGER_MS, MAX_BOOTPAGE_BYTES_LIMIT, MAX_BOOTPAGE_URLS, MAX_FETCH_TIMEOUT_MS, MAX_MIN_RELOAD_INTERVAL_MS,
  MAX_REDIRECTS_LIMIT
} from './constants.ts'
import { verifyBootpage } from './format.ts'
import type { RefusedRecord, VerifiedBootpage } from './format.ts'
import { fetchPageBytes, parsePageUrl } from './http.ts'
import type { FetchFunction } from './http.ts'
import { parseBootpageKey } from './key.ts'
import type { BootpageSigner } from './key.ts'

export interface BootpageLoaderInit {
  /** Mirrors of the page, tried in this order (http: or https:, at most {@link MAX_BOOTPAGE_URLS}). */
  urls: ReadonlyArray<string | URL>
  /** Who signs the page: node ID, 64-hex public key, or 32 key bytes. A page signed by anyone else is refused. */
  key: string | Uint8Array
  /** Keep the last good page in this directory (file `bootpage.v`, mode 0600). Default: nothing written. */
  stateDir?: string
  /** Or keep it in this store (e.g. the node's). Ignored when `stateDir` is given. */
  store?: KeyValueStore
  /** Per URL, the whole exchange. Default {@link DEFAULT_FETCH_TIMEOUT_MS}. */
  fetchTimeoutMs?: number
  /** Default {@link DEFAULT_MAX_BOOTPAGE_BYTES}, at most {@link MAX_BOOTPAGE_BYTES_LIMIT}. */
  maxBytes?: number
  /** Default {@link DEFAULT_MAX_REDIRECTS}, at most {@link MAX_REDIRECTS_LIMIT}. */
  maxRedirects?: number
  /** Default {@link DEFAULT_MIN_RELOAD_INTERVAL_MS} (90 s). */
  minReloadIntervalMs?: number
  /** Wait this long for one URL before trying the next in parallel. Default {@link DEFAULT_STAGGER_MS}. */
  staggerMs?: number
  /** Default: the platform's `fetch`. */
  fetch?: FetchFunction
  clock?: Clock
  logger?: ComponentLogger
  /** Aborting it closes the loader. */
  signal?: AbortSignal
}

/** What {@link BootpageLoader.load} returns: the verified page and where it came from. */
export interface BootpageResult extends VerifiedBootpage {
  /** The URL that served it, or `'cache'` when no URL answered and the cached page was used. */
  source: string
  /** The URL the page was originally fetched from (for a cached page, when it was cached). */
  url: string
  /** Unix ms when it was fetched. */
  fetchedAt: number
  /** How old the copy is: 0 for a fresh fetch, `now - fetchedAt` for a cached one. */
  ageMs: number
}

export interface BootpageLoaderEvents extends Record<string, unknown> {
  /** A URL is being tried. */
  'bootpage:attempt': { url: string }
  'bootpage:redirect': { url: string, to: string }
  /** A URL gave nothing usable (network, HTTP, size, signature, expiry, …). */
  'bootpage:refused': { url: string, error: EgtpError }
  /** A record inside an otherwise valid page failed its own verification and was left out. */
  'bootpage:record-refused': { url: string, record: RefusedRecord }
  'bootpage:loaded': { result: BootpageResult }
}

/** A verified page from the network and the bytes it came as (what the cache keeps). */
interface Fetched { page: BootpageResult, url: string, fetchedAt: number, raw: Uint8Array }

function bounded (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`createBootpageLoader: ${name} must be an integer ${min}..${max}`)
  return v
}

/**
 * Loads the signed bootpage. `load()` tries the URLs (in order, each next one in parallel after `staggerMs` or
 * as soon as the previous fails), verifies the first page that arrives, and falls back to the cached page when
 * none does. At most one network load per `minReloadIntervalMs`; concurrent calls share one load.
 */
export class BootpageLoader extends TypedEventTarget<BootpageLoaderEvents> {
  readonly urls: readonly URL[]
  readonly signer: BootpageSigner
  readonly fetchTimeoutMs: number
  readonly maxBytes: number
  readonly maxRedirects: number
  readonly minReloadIntervalMs: number
  readonly staggerMs: number
  readonly #store: KeyValueStore | undefined
  readonly #fetch: FetchFunction
  readonly #clock: Clock
  readonly #log: Logger
  readonly #shutdown = new AbortController()
  #inFlight: Promise<BootpageResult> | undefined
  #lastAttemptAt: number | undefined
  #last: BootpageResult | undefined

  constructor (init: BootpageLoaderInit) {
    super()
    if (!Array.isArray(init.urls) || init.urls.length === 0 || init.urls.length > MAX_BOOTPAGE_URLS) {
      throw new RangeError(`createBootpageLoader: urls must list 1..${MAX_BOOTPAGE_URLS} URLs`)
    }
    this.urls = init.urls.map(parsePageUrl)
    this.signer = parseBootpageKey(init.key)
    this.fetchTimeoutMs = bounded('fetchTimeoutMs', init.fetchTimeoutMs, DEFAULT_FETCH_TIMEOUT_MS, 1, MAX_FETCH_TIMEOUT_MS)
    this.maxBytes = bounded('maxBytes', init.maxBytes, DEFAULT_MAX_BOOTPAGE_BYTES, 1, MAX_BOOTPAGE_BYTES_LIMIT)
    this.maxRedirects = bounded('maxRedirects', init.maxRedirects, DEFAULT_MAX_REDIRECTS, 0, MAX_REDIRECTS_LIMIT)
    this.minReloadIntervalMs = bounded('minReloadIntervalMs', init.minReloadIntervalMs, DEFAULT_MIN_RELOAD_INTERVAL_MS, 0, MAX_MIN_RELOAD_INTERVAL_MS)
    this.staggerMs = bounded('staggerMs', init.staggerMs, DEFAULT_STAGGER_MS, 0, MAX_FETCH_TIMEOUT_MS)
    // The cache holds a page plus a small header; the store refuses anything larger.
    this.#store = init.stateDir !== undefined ? new FileStore(init.stateDir, { maxValueBytes: this.maxBytes * 2 + 4096 }) : init.store
    this.#fetch = init.fetch ?? ((input, fetchInit) => fetch(input, fetchInit))
    this.#clock = init.clock ?? systemClock
    this.#log = (init.logger ?? disabledComponentLogger).forComponent('bootpage')
    if (init.signal !== undefined) {
      if (init.signal.aborted) this.close()
      else init.signal.addEventListener('abort', () => { this.close() }, { once: true })
    }
  }

  /** The last page `load()` returned, if any. */
  get last (): BootpageResult | undefined {
    return this.#last
  }

  /** Milliseconds until `load()` may go to the network again (0: now). */
  msUntilReload (): number {
    if (this.#lastAttemptAt === undefined) return 0
    return Math.max(0, this.#lastAttemptAt + this.minReloadIntervalMs - this.#clock.monotonic())
  }

  /**
   * Fetch and verify the page (or use the cache when no URL gives a valid one, or when this loader has not
   * loaded yet and the cached page is younger than `minReloadIntervalMs`). A page issued before the one already
   * held is refused (ERR_STALE_RECORD in `bootpage:refused`).
   * @throws {EgtpError} ERR_RATE_LIMITED within `minReloadIntervalMs` of the previous load (see
   *   {@link msUntilReload}; {@link last} still holds the previous page); ERR_BOOTPAGE when no URL and no
   *   cache gave a valid page (`cause` is an `AggregateError` of each source's error); ERR_CLOSED
   */
  async load (options: AbortOptions = {}): Promise<BootpageResult> {
    options.signal?.throwIfAborted()
    if (this.#shutdown.signal.aborted) throw new EgtpError('ERR_CLOSED', 'the bootpage loader is closed')
    if (this.#inFlight !== undefined) return await this.#withSignal(this.#inFlight, options.signal)
    const wait = this.msUntilReload()
    if (wait > 0) throw new EgtpError('ERR_RATE_LIMITED', `the bootpage was loaded less than ${this.minReloadIntervalMs} ms ago; next load in ${Math.ceil(wait)} ms`)
    this.#lastAttemptAt = this.#clock.monotonic()
    const run = this.#load().finally(() => { this.#inFlight = undefined })
    this.#inFlight = run
    return await this.#withSignal(run, options.signal)
  }

  /** Stop any load in flight; later `load()` calls reject with ERR_CLOSED. Idempotent. */
  close (): void {
    this.#shutdown.abort(new EgtpError('ERR_CLOSED', 'the bootpage loader was closed'))
  }

  // A caller's abort ends its own wait; the shared load goes on for the other callers.
  async #withSignal<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined) return await promise
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([promise, aborted])
    } finally {
      signal.removeEventListener('abort', onAbort!)
    }
  }

  async #load (): Promise<BootpageResult> {
    const errors: Error[] = []
    // The cached page first: it spares the mirrors after a quick restart, and no mirror may roll a node back
    // to a page older than it.
    const cached = await this.#readCache(errors)
    if (cached !== undefined && this.#last === undefined && cached.ageMs < this.minReloadIntervalMs && cached.fetchedAt <= this.#clock.now()) {
      this.#log('the cached page is %d ms old: not fetching before %d ms', cached.ageMs, this.minReloadIntervalMs)
      return this.#done(cached)
    }
    const floor = Math.max(this.#last?.issuedAt ?? 0, cached?.issuedAt ?? 0)
    let result: Fetched | undefined
    try {
      result = await this.#fetchAny(errors, floor)
    } catch (err) {
      if (this.#shutdown.signal.aborted) throw this.#shutdown.signal.reason
      throw err
    }
    if (result !== undefined) {
      if (this.#store !== undefined) {
        await writeCache(this.#store, result.url, result.fetchedAt, result.raw).catch((err: unknown) => {
          this.#log.error('could not cache the bootpage: %e', err)
        })
      }
      return this.#done(result.page)
    }
    if (cached !== undefined) {
      this.#log('no URL gave a valid page; using the cached page from %s', cached.url)
      return this.#done(cached)
    }
    throw new EgtpError('ERR_BOOTPAGE', `no bootpage URL${this.#store !== undefined ? ' nor the cache' : ''} gave a valid page: ${errors.map(e => e.message).join('; ')}`, {
      cause: new AggregateError(errors, 'bootpage sources')
    })
  }

  // The cached page, verified again now (key, signature, expiry, records); undefined when none is usable.
  async #readCache (errors: Error[]): Promise<BootpageResult | undefined> {
    if (this.#store === undefined) return undefined
    try {
      const cached = await readCache(this.#store, this.maxBytes)
      if (cached === undefined) return undefined
      const now = this.#clock.now()
      const page = verifyBootpage(cached.page, { key: this.signer, now })
      return { ...page, source: 'cache', url: cached.url, fetchedAt: cached.savedAt, ageMs: Math.max(0, now - cached.savedAt) }
    } catch (err) {
      if (!isEgtpError(err)) throw err
      this.safeDispatch('bootpage:refused', { url: 'cache', error: err })
      errors.push(err)
      return undefined
    }
  }

  #done (result: BootpageResult): BootpageResult {
    this.#last = result
    this.#log('bootpage of %s from %s: %d trackers, %d relays, %d records refused', result.signer, result.source, result.trackers.length, result.relays.length, result.refused.length)
    this.safeDispatch('bootpage:loaded', { result })
    return result
  }

  // Start URL i+1 when URL i failed or after staggerMs, whichever comes first; the first valid page wins and
  // the others are aborted. Resolves undefined when every URL failed (errors collected in `errors`).
  async #fetchAny (errors: Error[], floor: number): Promise<Fetched | undefined> {
    const race = new AbortController()
    const signal = AbortSignal.any([this.#shutdown.signal, race.signal])
    try {
      return await new Promise((resolve, reject) => {
        let next = 0
        let running = 0
        let settled = false
        let timer: ReturnType<typeof setTimeout> | undefined
        const finish = (fn: () => void): void => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          fn()
        }
        const startNext = (): void => {
          clearTimeout(timer)
          if (settled) return
          if (next >= this.urls.length) {
            if (running === 0) finish(() => { resolve(undefined) })
            return
          }
          const url = this.urls[next++]!
          running++
          this.#tryUrl(url, signal, floor).then(ok => { finish(() => { resolve(ok) }) }, (err: unknown) => {
            running--
            if (this.#shutdown.signal.aborted) { finish(() => { reject(this.#shutdown.signal.reason) }); return }
            if (settled) return
            if (!isEgtpError(err)) { finish(() => { reject(err) }); return }
            errors.push(err)
            this.#log('bootpage from %s refused: %s', url.href, err.message)
            this.safeDispatch('bootpage:refused', { url: url.href, error: err })
            startNext()
          })
          if (next < this.urls.length) timer = setTimeout(startNext, this.staggerMs)
        }
        startNext()
      })
    } finally {
      race.abort()
    }
  }

  async #tryUrl (url: URL, signal: AbortSignal, floor: number): Promise<Fetched> {
    this.safeDispatch('bootpage:attempt', { url: url.href })
    const raw = await fetchPageBytes(url, {
      signal,
      fetchTimeoutMs: this.fetchTimeoutMs,
      maxBytes: this.maxBytes,
      maxRedirects: this.maxRedirects,
      fetch: this.#fetch,
      onRedirect: (from, to) => { this.safeDispatch('bootpage:redirect', { url: from, to }) }
    })
    const now = this.#clock.now()
    const verified = verifyBootpage(raw, { key: this.signer, now })
    if (verified.issuedAt < floor) {
      throw new EgtpError('ERR_STALE_RECORD', `${url.href} serves a page issued at ${new Date(verified.issuedAt).toISOString()}, older than the one already held (${new Date(floor).toISOString()})`)
    }
    for (const record of verified.refused) this.safeDispatch('bootpage:record-refused', { url: url.href, record })
    return { page: { ...verified, source: url.href, url: url.href, fetchedAt: now, ageMs: 0 }, url: url.href, fetchedAt: now, raw }
  }
}

/**
 * Create a bootpage loader.
 * @example
 * ```ts
 * const loader = createBootpageLoader({ urls: ['https://example.org/egtp/bootpage.json'], key: 'sqr…' })
 * const { trackers, relays } = await loader.load()
 * ```
 */
export function createBootpageLoader (init: BootpageLoaderInit): BootpageLoader {
  return new BootpageLoader(init)
}
