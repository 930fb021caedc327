// Command-line parsing shared by every egtp-node command: node:util parseArgs, one-line errors (exit 2).
import { parseArgs } from 'node:util'
import { parseNodeId } from '@egtp/identity'
import type { RelayEndpoint } from '@egtp/interface'

/** Invalid configuration: the CLI prints its message on one line and exits with status 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string }>

/** Options every command takes. */
export const COMMON_OPTIONS = {
  'state-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies OptionSpec

/**
 * `--opt -5` is a value, not an option, when `--opt` takes a string and `-5` is not an option name:
 * parseArgs would refuse it as ambiguous. Rewrite such pairs as `--opt=-5`.
 */
function joinDashValues (argv: readonly string[], options: OptionSpec): string[] {
  const takesValue = (token: string): boolean => {
    const long = /^--([^=]+)$/.exec(token)
    if (long !== null) return options[long[1]!]?.type === 'string'
    const short = /^-([A-Za-z])$/.exec(token)
    return short !== null && Object.values(options).some(o => o.short === short[1] && o.type === 'string')
  }
  const isOption = (token: string): boolean => {
    const long = /^--([^=]+)/.exec(token)
    if (long !== null) return long[1]! in options
    return /^-[A-Za-z]$/.test(token) && Object.values(options).some(o => o.short === token[1])
  }
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    const next = argv[i + 1]
    if (token === '--') { out.push(...argv.slice(i)); break }
    if (takesValue(token) && next !== undefined && next.startsWith('-') && !isOption(next)) {
      out.push(`${token.startsWith('--') ? token : `--${Object.entries(options).find(([, o]) => o.short === token[1])![0]}`}=${next}`)
      i++
    } else {
      out.push(token)
    }
  }
  return out
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
}

/** Parse `argv` against `options` (plus the common ones); ConfigError on anything unknown or malformed. */
export function parse (argv: readonly string[], options: OptionSpec, positionals = false): Parsed {
  const all: OptionSpec = { ...COMMON_OPTIONS, ...options }
  try {
    const { values, positionals: rest } = parseArgs({ args: joinDashValues(argv, all), options: all, strict: true, allowPositionals: positionals })
    return { values: values as Parsed['values'], positionals: rest }
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0]!)
  }
}

export function str (values: Parsed['values'], name: string, fallback?: string): string | undefined {
  const v = values[name]
  return typeof v === 'string' ? v : fallback
}

export function list (values: Parsed['values'], name: string, fallback: string | undefined): string[] {
  const v = values[name]
  if (Array.isArray(v)) return v
  return fallback === undefined || fallback === '' ? [] : fallback.split(',')
}

export function hostPort (name: string, value: string): { host: string, port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  if (m === null || Number(m[2]) > 65_535) throw new ConfigError(`${name} must be host:port, got ${JSON.stringify(value)}`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
}

export function positiveInt (name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(value)}`)
  return n
}

export function nodeIdArg (name: string, value: string | undefined): string {
  if (value === undefined) throw new ConfigError(`${name} is missing`)
  try {
    return parseNodeId(value)
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`)
  }
}

/** `--relay off` (none), `auto` (relays found through the trackers; handled by `run`) or `NODEID@host:port`. */
export function relayArg (value: string): RelayEndpoint | undefined {
  if (value === 'off' || value === 'auto') return undefined
  const at = value.indexOf('@')
  if (at < 1) throw new ConfigError(`--relay must be off, auto or NODEID@host:port, got ${JSON.stringify(value)}`)
  return { kind: 'relay', relay: nodeIdArg('--relay', value.slice(0, at)), ...hostPort('--relay', value.slice(at + 1)) }
}
