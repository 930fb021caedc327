#!/usr/bin/env node
// egtp-bootpage: sign, show and verify bootpages. A page is a JSON file any static HTTP server can serve.
// Exit codes: 0 done (for verify: the page holds), 1 the page is refused or unreadable, 2 bad usage (one line
// on stderr).
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import {
  MAX_BOOTPAGE_BYTES_LIMIT, MAX_BOOTPAGE_RECORDS, bootpageSignatureHolds, createBootpage, createBootpageLoader,
  parseBootpage, parseBootpageKey, verifyBootpage
} from '@egtp/bootpage'
import type { Bootpage, BootpageSigner, VerifiedBootpage } from '@egtp/bootpage'
import { FileKeystore, decodeContactRecord, loadOrCreateIdentity, verifyContactRecord } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import type { ContactRecord } from '@egtp/interface'

/** Longest page lifetime `create` accepts. */
const MAX_EXPIRES_MS = 366 * 86_400_000
/** A record file holds one base64 record (~300 characters); anything much larger is not one. */
const MAX_RECORD_FILE_BYTES = 64 * 1024

const help: Record<string, string> = {
  '': `usage: egtp-bootpage <command> [options]   (egtp-bootpage <command> --help for each)
  keygen  --key-file FILE                                    create (or show) the page signing identity
  create  --key-file FILE --record FILE... --expires 30d [--out FILE]   sign a page
  show    PAGE                                               print a page for a person
  verify  PAGE|URL --key KEY                                 check a page against the key you trust`,
  keygen: `usage: egtp-bootpage keygen --key-file FILE
  Creates the identity that signs pages (mode 0600) unless FILE already holds one, and prints one JSON line
  {"nodeId":…,"publicKey":…}: either is what nodes configure as the bootpage key.`,
  create: `usage: egtp-bootpage create --key-file FILE --record FILE [--record FILE]... --expires DURATION [--out FILE]
  --key-file, --key  the signing identity (an identity keystore file, see keygen); never created here
  --record           a file holding a signed contact record in base64, as printed in a node's ready line
                     (records offering "metatracker" become trackers, "relay" relays); repeatable
  --expires          how long the page is valid: a number and s, m, h or d (e.g. 30d; at most 366d)
  --out              write the page there (default: stdout)`,
  show: `usage: egtp-bootpage show PAGE
  Prints the page's signer, times and records, and whether each signature holds. It does not say whether
  the signer is one you trust: use verify --key for that.`,
  verify: `usage: egtp-bootpage verify PAGE|URL --key KEY
  --key   the signer you trust: its node ID or its public key (64 hex digits)
  PAGE is a file; an http(s) URL is fetched as a node would (timeout, size and redirect limits).
  Exit 0 when the page holds, 1 when it is refused (the error code on stderr).`
}

let command = ''

function usage (message: string): never {
  process.stderr.write(`egtp-bootpage${command === '' ? '' : ` ${command}`}: ${message} (see egtp-bootpage ${command === '' ? '' : `${command} `}--help)\n`)
  process.exit(2)
}

function refused (err: unknown): never {
  process.stderr.write(`egtp-bootpage ${command}: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}

function parse (argv: string[], options: NonNullable<ParseArgsConfig['options']>, positionals: number): { values: Record<string, unknown>, positionals: string[] } {
  let parsed: { values: Record<string, unknown>, positionals: string[] }
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: positionals > 0 })
  } catch (err) {
    usage((err as Error).message.split('\n')[0]!)
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${help[command]}\n`)
    process.exit(0)
  }
  if (parsed.positionals.length !== positionals) usage(`expected ${positionals === 0 ? 'no' : positionals} argument${positionals === 1 ? '' : 's'}, got ${parsed.positionals.length}`)
  return parsed
}

function duration (text: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text)
  if (m === null) usage(`--expires must be a number and s, m, h or d (e.g. 30d), got ${JSON.stringify(text)}`)
  const ms = Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd']
  if (ms < 1_000 || ms > MAX_EXPIRES_MS) usage('--expires must be between 1s and 366d')
  return ms
}

function readSmallFile (what: string, file: string, maxBytes: number): string {
  let size: number
  try {
    size = statSync(file).size
  } catch (err) {
    usage(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (size > maxBytes) usage(`${what} ${file} is larger than ${maxBytes} bytes`)
  return readFileSync(file, 'utf8')
}

function keyArg (text: unknown): BootpageSigner {
  if (typeof text !== 'string') usage('--key is required: the node ID or public key of the signer you trust')
  try {
    return parseBootpageKey(text)
  } catch (err) {
    usage(`--key: ${(err as Error).message}`)
  }
}

const iso = (ms: number): string => new Date(ms).toISOString()
function relative (ms: number, now: number): string {
  const d = ms - now
  const abs = Math.abs(d)
  const text = abs >= 86_400_000 ? `${Math.floor(abs / 86_400_000)} d` : abs >= 3_600_000 ? `${Math.floor(abs / 3_600_000)} h` : `${Math.floor(abs / 60_000)} min`
  return d >= 0 ? `in ${text}` : `${text} ago`
}

function describeRecord (r: ContactRecord): string {
  const endpoints = r.endpoints.map(e => e.kind === 'tcp' ? `tcp ${e.host}:${e.port}` : `relay ${e.relay}@${e.host}:${e.port}`).join(', ')
  return `${r.nodeId}  [${r.services.join(',')}]  ${endpoints}  seq ${r.seq}  expires ${iso(r.expiresAt)}`
}

async function keygen (argv: string[]): Promise<void> {
  const { values } = parse(argv, { 'key-file': { type: 'string' } }, 0)
  if (typeof values['key-file'] !== 'string') usage('--key-file is required')
  const identity = await loadOrCreateIdentity(new FileKeystore(values['key-file'])).catch(refused)
  process.stdout.write(`${JSON.stringify({ nodeId: identity.nodeId, publicKey: Buffer.from(identity.publicKey).toString('hex') })}\n`)
}

async function create (argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    'key-file': { type: 'string' },
    key: { type: 'string' },
    record: { type: 'string', multiple: true },
    expires: { type: 'string' },
    out: { type: 'string' }
  }, 0)
  const keyFile = values['key-file'] ?? values.key
  if (typeof keyFile !== 'string') usage('--key-file FILE is required (the identity that signs; see egtp-bootpage keygen)')
  if (values['key-file'] !== undefined && values.key !== undefined) usage('give --key-file or --key, not both')
  const recordFiles = (values.record ?? []) as string[]
  if (recordFiles.length === 0) usage('give at least one --record FILE')
  if (recordFiles.length > MAX_BOOTPAGE_RECORDS) usage(`at most ${MAX_BOOTPAGE_RECORDS} records`)
  if (typeof values.expires !== 'string') usage('--expires is required (e.g. 30d)')
  const lifetime = duration(values.expires)
  const records = recordFiles.map(file => {
    const text = readSmallFile('--record', file, MAX_RECORD_FILE_BYTES).trim()
    try {
      return decodeContactRecord(Uint8Array.from(Buffer.from(text, 'base64')))
    } catch (err) {
      usage(`--record ${file}: ${(err as Error).message}`)
    }
  })
  readSmallFile('--key-file', keyFile, 64 * 1024)
  const identity = await new FileKeystore(keyFile).load().catch((err: unknown) => usage(`--key-file ${keyFile}: ${(err as Error).message}`))
  if (identity === undefined) usage(`--key-file ${keyFile} holds no identity`)
  const now = Date.now()
  const page = createBootpage(identity, { records, issuedAt: now, expiresAt: now + lifetime })
  if (typeof values.out !== 'string') {
    process.stdout.write(page)
    return
  }
  // Replace the page atomically: a web server never serves half of it.
  const tmp = join(dirname(values.out), `.${basename(values.out)}.${process.pid}.tmp`)
  try {
    writeFileSync(tmp, page, { mode: 0o644 })
    renameSync(tmp, values.out)
  } catch (err) {
    refused(err)
  }
  process.stderr.write(`egtp-bootpage create: wrote ${values.out}, signed by ${identity.nodeId}, ${records.length} records, expires ${iso(now + lifetime)}\n`)
}

function show (argv: string[]): void {
  const { positionals } = parse(argv, {}, 1)
  let page: Bootpage
  try {
    page = parseBootpage(readSmallFile('page', positionals[0]!, MAX_BOOTPAGE_BYTES_LIMIT))
  } catch (err) {
    refused(err)
  }
  const now = Date.now()
  const lines = [
    `egtp bootpage, format version ${page.version}`,
    `signer      ${page.signer}`,
    `public key  ${Buffer.from(page.publicKey).toString('hex')}`,
    `issued      ${iso(page.issuedAt)} (${relative(page.issuedAt, now)})`,
    `expires     ${iso(page.expiresAt)} (${now >= page.expiresAt ? 'EXPIRED' : relative(page.expiresAt, now)})`,
    `signature   ${bootpageSignatureHolds(page) ? 'holds for the key above (verify --key checks it is the key you trust)' : 'DOES NOT HOLD'}`,
    `records     ${page.records.length}`
  ]
  page.records.forEach((r, i) => {
    let status = 'ok'
    try {
      verifyContactRecord(r, { now })
    } catch (err) {
      status = `REFUSED ${isEgtpError(err) ? err.code : String(err)}`
    }
    lines.push(`  [${i}] ${describeRecord(r)}  ${status}`)
  })
  process.stdout.write(`${lines.join('\n')}\n`)
}

async function verify (argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { key: { type: 'string' } }, 1)
  const key = keyArg(values.key)
  const source = positionals[0]!
  let result: VerifiedBootpage
  try {
    if (/^https?:\/\//i.test(source)) {
      const loader = createBootpageLoader({ urls: [source], key: key.kind === 'public-key' ? key.publicKey : key.nodeId })
      try {
        result = await loader.load()
      } finally {
        loader.close()
      }
    } else {
      result = verifyBootpage(readSmallFile('page', source, MAX_BOOTPAGE_BYTES_LIMIT), { key })
    }
  } catch (err) {
    refused(isEgtpError(err, 'ERR_BOOTPAGE') && err.cause instanceof AggregateError ? err.cause.errors[0] : err)
  }
  const out = [`OK signed by ${result.signer}: ${result.trackers.length} trackers, ${result.relays.length} relays, expires ${iso(result.expiresAt)}`]
  for (const r of result.refused) out.push(`refused record [${r.index}] ${r.nodeId}: ${r.error.message}`)
  process.stdout.write(`${out.join('\n')}\n`)
}

const [first, ...rest] = process.argv.slice(2)
const commands: Record<string, (argv: string[]) => void | Promise<void>> = { keygen, create, show, verify }
if (first === undefined) usage('give a command: keygen, create, show or verify')
if (first === '--help' || first === '-h' || first === 'help') {
  process.stdout.write(`${help['']}\n`)
  process.exit(0)
}
const run = commands[first]
if (run === undefined) usage(`unknown command ${JSON.stringify(first)}`)
command = first
await run(rest)
