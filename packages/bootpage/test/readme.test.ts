import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))
const EXAMPLE_TIMEOUT_MS = 30_000

/** The first ```js block of the README's `## Usage` section: what a stranger copies. */
async function usageExample (): Promise<string> {
  const readme = await readFile(join(PACKAGE_DIR, 'README.md'), 'utf8')
  const usage = readme.split(/^## /m).find(s => s.startsWith('Usage')) ?? ''
  const m = /^```js\n([\s\S]*?)^```/m.exec(usage)
  if (m?.[1] === undefined) throw new Error('README.md has no ```js block under ## Usage')
  return m[1]
}

test('the README example runs as it is, as plain JavaScript in a Node process', async ({ onTestFinished }) => {
  // Inside the package, so `@egtp/bootpage` (self-reference) and `@egtp/identity` resolve as for a user; the
  // @egtp/source condition and tsx run them from src, so no build is needed. Dot-named: no tool scans it.
  const dir = await mkdtemp(join(PACKAGE_DIR, '.readme-'))
  onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
  const file = join(dir, 'example.mjs')
  await writeFile(file, await usageExample())

  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@egtp/source', file], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
  child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, EXAMPLE_TIMEOUT_MS)
  const code = await new Promise(resolve => child.once('exit', (c, s) => { resolve(c ?? s) }))
  clearTimeout(timer)

  // Exit 0 by itself (the server and the loader let go), one tracker from the served page, and its record.
  expect({ code, err }).toEqual({ code: 0, err: '' })
  const lines = out.trim().split('\n')
  expect(lines[0]).toMatch(/^1 trackers, 0 relays from http:\/\/127\.0\.0\.1:\d+\/bootpage\.json \(0 ms old\)$/)
  expect(lines[1]).toMatch(/^[a-z2-7]{32} \[ \{ kind: 'tcp', host: '127\.0\.0\.1', port: 7450 \} \]$/)
  expect(lines).toHaveLength(2)
})
