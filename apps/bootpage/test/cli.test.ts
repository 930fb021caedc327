import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createContactRecord, encodeContactRecord, generateIdentity } from '@egtp/identity'
import { describe, expect, test } from 'vitest'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

interface Run { code: number | null, stdout: string, stderr: string }

/** Run the built app as a process. */
async function run (args: string[], cwd: string): Promise<Run> {
  return await new Promise(resolve => {
    execFile(process.execPath, [MAIN, ...args], { cwd, timeout: 20_000, env: { ...process.env, DEBUG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (typeof err.code === 'number' ? err.code : null), stdout, stderr })
    })
  })
}

/** Run each argument list, at most 3 processes at a time (the machine is shared). */
async function runAll (argLists: string[][], cwd: string): Promise<Run[]> {
  const out: Run[] = new Array<Run>(argLists.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < argLists.length) {
      const i = next++
      out[i] = await run(argLists[i]!, cwd)
    }
  }
  await Promise.all([worker(), worker(), worker()])
  return out
}

async function workdir (onTestFinished: (fn: () => Promise<void>) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-app-bootpage-'))
  onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** Record files as a node's ready line prints them (base64 of a signed `cr`). */
async function recordFiles (dir: string): Promise<string[]> {
  const files: string[] = []
  const services = [['metatracker'], ['metatracker'], ['relay']]
  for (const [i, s] of services.entries()) {
    const record = createContactRecord(generateIdentity(), { seq: 1, expiresAt: Date.now() + 60 * 86_400_000, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 4000 + i }], services: s })
    const file = join(dir, `record-${i}.b64`)
    await writeFile(file, `${Buffer.from(encodeContactRecord(record)).toString('base64')}\n`)
    files.push(file)
  }
  return files
}

describe('egtp-bootpage (the app, as processes)', () => {
  test('keygen → create → show → verify, by node ID, by public key, from a file and over HTTP', async ({ onTestFinished }) => {
    const dir = await workdir(onTestFinished)
    const keygen = await run(['keygen', '--key-file', 'signer.key'], dir)
    expect(keygen.code).toBe(0)
    const signer = JSON.parse(keygen.stdout) as { nodeId: string, publicKey: string }
    expect((await stat(join(dir, 'signer.key'))).mode & 0o777).toBe(0o600)
    expect(JSON.parse((await run(['keygen', '--key-file', 'signer.key'], dir)).stdout)).toEqual(signer)

    const records = await recordFiles(dir)
    const create = await run(['create', '--key', 'signer.key', ...records.flatMap(r => ['--record', r]), '--expires', '30d', '--out', 'page.json'], dir)
    expect(create).toMatchObject({ code: 0, stdout: '' })
    expect(create.stderr).toContain(`signed by ${signer.nodeId}, 3 records`)
    const page = await readFile(join(dir, 'page.json'), 'utf8')
    expect(JSON.parse(page)).toMatchObject({ format: 'egtp-bootpage', version: 1, signer: signer.nodeId, publicKey: signer.publicKey })

    const show = await run(['show', 'page.json'], dir)
    expect(show.code).toBe(0)
    expect(show.stdout).toContain(`signer      ${signer.nodeId}`)
    expect(show.stdout).toContain('signature   holds')
    expect(show.stdout.match(/\[metatracker\] {2}tcp 127\.0\.0\.1:400[01] .* ok$/gm)).toHaveLength(2)
    expect(show.stdout).toMatch(/\[relay\] {2}tcp 127\.0\.0\.1:4002 .* ok$/m)

    for (const key of [signer.nodeId, signer.publicKey]) {
      const verify = await run(['verify', 'page.json', '--key', key], dir)
      expect(verify).toMatchObject({ code: 0, stderr: '' })
      expect(verify.stdout).toMatch(new RegExp(`^OK signed by ${signer.nodeId}: 2 trackers, 1 relays`))
    }

    const server = createServer((req, res) => { res.writeHead(req.url === '/page.json' ? 200 : 404).end(req.url === '/page.json' ? page : '') })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    onTestFinished(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    expect((await run(['verify', `${base}/page.json`, '--key', signer.nodeId], dir)).code).toBe(0)
    const missing = await run(['verify', `${base}/other.json`, '--key', signer.nodeId], dir)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^egtp-bootpage verify: ERR_BOOTPAGE_HTTP: .* 404\n$/)
  })

  test('a page from another key, or tampered, is refused by verify (exit 1, one line); show flags the signature', async ({ onTestFinished }) => {
    const dir = await workdir(onTestFinished)
    const records = await recordFiles(dir)
    expect((await run(['keygen', '--key-file', 'signer.key'], dir)).code).toBe(0)
    expect((await run(['create', '--key-file', 'signer.key', '--record', records[0]!, '--expires', '1h', '--out', 'page.json'], dir)).code).toBe(0)
    const other = generateIdentity()
    const wrong = await run(['verify', 'page.json', '--key', other.nodeId], dir)
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^egtp-bootpage verify: ERR_KEY_MISMATCH: the page is signed by \w+, not by the configured key \w+\n$/)

    const signer = JSON.parse((await run(['keygen', '--key-file', 'signer.key'], dir)).stdout) as { nodeId: string }
    const doc = JSON.parse(await readFile(join(dir, 'page.json'), 'utf8')) as { records: Array<{ endpoints: Array<{ port: number }> }> }
    doc.records[0]!.endpoints[0]!.port = 6666
    await writeFile(join(dir, 'tampered.json'), JSON.stringify(doc, null, 2))
    const tampered = await run(['verify', 'tampered.json', '--key', signer.nodeId], dir)
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toMatch(/^egtp-bootpage verify: ERR_SIGNATURE: [^\n]*\n$/)
    const show = await run(['show', 'tampered.json'], dir)
    expect(show.code).toBe(0)
    expect(show.stdout).toContain('signature   DOES NOT HOLD')
    expect(show.stdout).toMatch(/tcp 127\.0\.0\.1:6666 .* REFUSED ERR_SIGNATURE$/m)

    await writeFile(join(dir, 'truncated.json'), (await readFile(join(dir, 'page.json'), 'utf8')).slice(0, 100))
    const truncated = await run(['show', 'truncated.json'], dir)
    expect(truncated.code).toBe(1)
    expect(truncated.stderr).toMatch(/^egtp-bootpage show: ERR_BOOTPAGE_MALFORMED: [^\n]*\n$/)
  })

  test('--help on every command (exit 0); bad usage is one line on stderr and exit 2', { timeout: 90_000 }, async ({ onTestFinished }) => {
    const dir = await workdir(onTestFinished)
    const records = await recordFiles(dir)
    await writeFile(join(dir, 'garbage.b64'), 'bm90IGEgcmVjb3Jk\n')
    expect((await run(['keygen', '--key-file', 'signer.key'], dir)).code).toBe(0)
    const helps = await runAll([['--help'], ['keygen', '--help'], ['create', '--help'], ['show', '--help'], ['verify', '--help']], dir)
    for (const h of helps) {
      expect(h.code).toBe(0)
      expect(h.stdout).toMatch(/^usage: egtp-bootpage/)
    }
    const bad: string[][] = [
      [],
      ['publish'],
      ['keygen'],
      ['keygen', '--key-file', 'k', 'extra'],
      ['create', '--key-file', 'signer.key', '--expires', '30d'],
      ['create', '--key-file', 'signer.key', '--record', records[0]!],
      ['create', '--key-file', 'signer.key', '--record', records[0]!, '--expires', '30x'],
      ['create', '--key-file', 'signer.key', '--record', records[0]!, '--expires', '400d'],
      ['create', '--key-file', 'signer.key', '--record', 'garbage.b64', '--expires', '1d'],
      ['create', '--key-file', 'signer.key', '--record', 'missing.b64', '--expires', '1d'],
      ['create', '--key-file', 'missing.key', '--record', records[0]!, '--expires', '1d'],
      ['create', '--record', records[0]!, '--expires', '1d'],
      ['create', '--key-file', 'signer.key', '--record', records[0]!, '--expires', '1d', '--bogus'],
      ['show'],
      ['show', 'a', 'b'],
      ['show', 'missing.json'],
      ['verify', 'page.json'],
      ['verify', 'page.json', '--key', 'not-a-key']
    ]
    const results = await runAll(bad, dir)
    results.forEach((r, i) => {
      expect({ args: bad[i], code: r.code, lines: r.stderr.split('\n').length, stdout: r.stdout }).toEqual({ args: bad[i], code: 2, lines: 2, stdout: '' })
      expect(r.stderr).toMatch(/^egtp-bootpage/)
    })
  })
})
