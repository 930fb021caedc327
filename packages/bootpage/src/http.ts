import { EgtpError, isEgtpError } from '@egtp/interface'

/** The subset of the platform `fetch` the loader uses (inject another one, e.g. with a proxy agent). */
export type FetchFunction = (input: URL, init: { redirect: 'manual', signal: AbortSignal, headers: Record<string, string> }) => Promise<Response>

export interface FetchPageOptions {
  signal: AbortSignal
  fetchTimeoutMs: number
  maxBytes: number
  maxRedirects: number
  fetch: FetchFunction
  /** Called before following each redirect. */
  onRedirect?: (from: string, to: string) => void
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/** Parse a bootpage URL; only http: and https: are accepted. */
export function parsePageUrl (url: string | URL): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch (err) {
    throw new TypeError(`bootpage URL ${JSON.stringify(String(url).slice(0, 80))} is not a URL`, { cause: err })
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`bootpage URL ${u.href} must be http: or https:`)
  return u
}

/**
 * Fetch one page's bytes: redirects followed by hand (counted, http(s) only, never https → http), a non-2xx
 * status refused, the body counted while it streams and cut off past `maxBytes`, and the whole exchange bound
 * by `fetchTimeoutMs`. Aborting `signal` rejects with its reason, untouched.
 * @throws {EgtpError} ERR_BOOTPAGE_HTTP, ERR_BOOTPAGE_REDIRECT, ERR_BOOTPAGE_TOO_LARGE, ERR_TIMEOUT, ERR_UNREACHABLE
 */
export async function fetchPageBytes (url: URL, options: FetchPageOptions): Promise<Uint8Array> {
  options.signal.throwIfAborted()
  const timeout = AbortSignal.timeout(options.fetchTimeoutMs)
  const signal = AbortSignal.any([options.signal, timeout])
  let current = url
  try {
    for (let redirects = 0; ; redirects++) {
      const res = await options.fetch(current, { redirect: 'manual', signal, headers: { accept: 'application/json' } })
      if (REDIRECT_STATUSES.has(res.status)) {
        await res.body?.cancel().catch(() => {})
        current = nextLocation(current, res.headers.get('location'), redirects, options.maxRedirects)
        options.onRedirect?.(url.href, current.href)
        continue
      }
      if (res.status < 200 || res.status > 299) {
        await res.body?.cancel().catch(() => {})
        throw new EgtpError('ERR_BOOTPAGE_HTTP', `${current.href} answered HTTP ${res.status}`)
      }
      return await readBounded(res, current, options.maxBytes, signal)
    }
  } catch (err) {
    if (options.signal.aborted) throw options.signal.reason
    if (timeout.aborted) throw new EgtpError('ERR_TIMEOUT', `${url.href} did not deliver a page within ${options.fetchTimeoutMs} ms`, { cause: err })
    if (isEgtpError(err)) throw err
    throw new EgtpError('ERR_UNREACHABLE', `${current.href}: ${(err as Error).message}`, { cause: err })
  }
}

function nextLocation (from: URL, location: string | null, redirects: number, maxRedirects: number): URL {
  if (redirects >= maxRedirects) throw new EgtpError('ERR_BOOTPAGE_REDIRECT', `more than ${maxRedirects} redirects (last at ${from.href})`)
  if (location === null) throw new EgtpError('ERR_BOOTPAGE_REDIRECT', `${from.href} redirects without a Location`)
  let to: URL
  try {
    to = new URL(location, from)
  } catch (err) {
    throw new EgtpError('ERR_BOOTPAGE_REDIRECT', `${from.href} redirects to an invalid URL`, { cause: err })
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') {
    throw new EgtpError('ERR_BOOTPAGE_REDIRECT', `${from.href} redirects to a ${to.protocol} URL (only http: and https: are followed)`)
  }
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    throw new EgtpError('ERR_BOOTPAGE_REDIRECT', `${from.href} redirects from https down to http (refused)`)
  }
  return to
}

// Counts bytes as they arrive: at most maxBytes plus one chunk is ever held, whatever the server sends.
async function readBounded (res: Response, url: URL, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const declared = res.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes) {
    await res.body?.cancel().catch(() => {})
    throw new EgtpError('ERR_BOOTPAGE_TOO_LARGE', `${url.href} declares ${declared} bytes, more than ${maxBytes}`)
  }
  if (res.body === null) return new Uint8Array(0)
  const reader = res.body.getReader()
  // A stalled body must end when the signal fires, whatever the fetch implementation does with it.
  const onAbort = (): void => { void reader.cancel(signal.reason).catch(() => {}) }
  signal.addEventListener('abort', onAbort, { once: true })
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      signal.throwIfAborted()
      const { done, value } = await reader.read()
      if (done) break
      total += value.length
      if (total > maxBytes) {
        await reader.cancel().catch(() => {})
        throw new EgtpError('ERR_BOOTPAGE_TOO_LARGE', `${url.href} sent more than ${maxBytes} bytes`)
      }
      chunks.push(value)
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  signal.throwIfAborted()
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.length }
  return out
}
