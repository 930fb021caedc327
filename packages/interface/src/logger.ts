/**
 * Injected logging, never global. `log('fmt %s', x)` is for lifecycle events, `log.trace` for per-frame
 * detail and `log.error` for failures that were handled. Formatters: `%s` string, `%d` number, `%e` error,
 * `%k` key fingerprint (never the key itself), `%o` object.
 */
export interface Logger {
  (formatter: string, ...args: unknown[]): void
  error: (formatter: string, ...args: unknown[]) => void
  trace: (formatter: string, ...args: unknown[]) => void
  /**
   * Something hostile or wrong was refused (a protocol violation, a flood). Shown even when the namespace is
   * off, like `error`. Optional for hand-made loggers: callers fall back to `error` (see {@link warnOf}).
   */
  warn?: (formatter: string, ...args: unknown[]) => void
  enabled: boolean
  newScope: (name: string) => Logger
}

/** Hands each component a logger named `egtp:<component>`. */
export interface ComponentLogger {
  forComponent: (name: string) => Logger
}

const noop = (): void => {}

function makeDisabled (): Logger {
  const log = Object.assign(noop.bind(null), {
    error: noop,
    trace: noop,
    enabled: false,
    newScope: (): Logger => log
  }) as Logger
  return log
}

/** A logger that drops everything. The default for every library component. */
export const disabledLogger: Logger = makeDisabled()

/** A component logger that hands out {@link disabledLogger}. */
export const disabledComponentLogger: ComponentLogger = { forComponent: () => disabledLogger }

/** Where formatted log lines go (apps choose: stderr, a file, a test capture). */
export type LogSink = (line: { namespace: string, level: 'info' | 'warn' | 'error' | 'trace', message: string }) => void

/** The `warn` of `log`, or its `error` for a logger without one. */
export const warnOf = (log: Logger): ((formatter: string, ...args: unknown[]) => void) => log.warn ?? log.error

/** Matches `DEBUG`-style patterns: comma-separated, `*` wildcards, `-` prefix to exclude. */
export function namespaceMatcher (pattern: string): (namespace: string) => boolean {
  const rules = pattern.split(/[\s,]+/).filter(Boolean).map(p => {
    const exclude = p.startsWith('-')
    const body = (exclude ? p.slice(1) : p).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')
    return { exclude, re: new RegExp(`^${body}$`) }
  })
  return (ns) => {
    let on = false
    for (const r of rules) if (r.re.test(ns)) on = !r.exclude
    return on
  }
}

/** Formats `%s %d %o %e %k` placeholders. `%k` shows only a fingerprint supplied by the caller's key type. */
export function formatLogMessage (formatter: string, args: readonly unknown[]): string {
  let i = 0
  const out = formatter.replace(/%([sdoek%])/g, (whole, f: string) => {
    if (f === '%') return '%'
    if (i >= args.length) return whole
    const a = args[i++]
    switch (f) {
      case 'd': return String(Number(a))
      case 'e': return a instanceof Error ? (a.stack ?? a.message) : String(a)
      case 'k': return fingerprintOf(a)
      case 'o': return safeJson(a)
      default: return typeof a === 'string' ? a : safeJson(a)
    }
  })
  return out
}

function fingerprintOf (a: unknown): string {
  if (a !== null && typeof a === 'object' && 'fingerprint' in a && typeof a.fingerprint === 'string') return a.fingerprint
  if (typeof a === 'string') return a.slice(0, 8)
  return '<key>'
}

function safeJson (a: unknown): string {
  try {
    return JSON.stringify(a, (_k, v: unknown) =>
      v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === 'bigint' ? v.toString() : v) ?? String(a)
  } catch {
    return String(a)
  }
}

/**
 * A component logger writing to `sink` for namespaces enabled by `pattern` (e.g. `egtp:*`).
 * Binary values are never printed: `%o` shows byte arrays as their length.
 */
export function createComponentLogger (pattern: string, sink: LogSink): ComponentLogger {
  const enabled = namespaceMatcher(pattern)
  const make = (namespace: string): Logger => {
    const on = enabled(namespace)
    const traceOn = enabled(`${namespace}:trace`)
    if (!on) {
      // Errors are always worth a line, even when the namespace is off.
      const off = makeDisabled()
      off.error = (f, ...args) => { sink({ namespace, level: 'error', message: formatLogMessage(f, args) }) }
      off.warn = (f, ...args) => { sink({ namespace, level: 'warn', message: formatLogMessage(f, args) }) }
      off.newScope = (name) => make(`${namespace}:${name}`)
      return off
    }
    const log = Object.assign(
      (f: string, ...args: unknown[]) => { sink({ namespace, level: 'info', message: formatLogMessage(f, args) }) },
      {
        error: (f: string, ...args: unknown[]) => { sink({ namespace, level: 'error', message: formatLogMessage(f, args) }) },
        warn: (f: string, ...args: unknown[]) => { sink({ namespace, level: 'warn', message: formatLogMessage(f, args) }) },
        trace: traceOn
          ? (f: string, ...args: unknown[]) => { sink({ namespace, level: 'trace', message: formatLogMessage(f, args) }) }
          : noop,
        enabled: true,
        newScope: (name: string) => make(`${namespace}:${name}`)
      }
    ) as Logger
    return log
  }
  return { forComponent: (name) => make(name.startsWith('egtp:') ? name : `egtp:${name}`) }
}
