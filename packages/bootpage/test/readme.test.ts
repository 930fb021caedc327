import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { createBootpageLoader } from '../src/index.ts'
import { fixture } from './helpers.ts'
import { startServer } from './integration/server.ts'

test('the README example runs, and the README shows exactly this code', async ({ onTestFinished }) => {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-bootpage-readme-'))
  onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
  const { signer, page: pageText } = fixture()
  const server = await startServer((_req, res) => { res.writeHead(200).end(pageText) })
  onTestFinished(server.close)
  const mirror = server.origin
  const signerNodeId = signer.nodeId
  const stateDir = join(dir, 'bootpage')
  const lines: string[] = []
  const console = { log: (...args: unknown[]) => { lines.push(args.map(String).join(' ')) } }

  // README:start
  const loader = createBootpageLoader({
    urls: [`${mirror}/bootpage.json`], // mirrors, tried in order, then in parallel
    key: signerNodeId, // the node ID (or hex public key) that signs the page
    stateDir // optional: keeps the last good page for when no mirror answers
  })
  loader.addEventListener('bootpage:refused', ({ detail }) => console.log('refused', detail.url, detail.error.code))
  const page = await loader.load()
  console.log(`${page.trackers.length} trackers, ${page.relays.length} relays from ${page.source} (${page.ageMs} ms old)`)
  for (const tracker of page.trackers) console.log(tracker.nodeId, tracker.endpoints)
  loader.close()
  // README:end

  expect(lines[0]).toBe(`2 trackers, 1 relays from ${mirror}/bootpage.json (0 ms old)`)
  expect(lines).toHaveLength(3)
  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('  // README:end'))
  const code = block.split('\n').map(l => l.slice(2)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})
