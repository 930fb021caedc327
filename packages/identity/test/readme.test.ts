import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import {
  FileKeystore, checkPeerKey, createContactRecord, loadOrCreateIdentity, parseNodeId, verifyContactRecord
} from '../src/index.ts'

test('the README example runs, and the README shows exactly this code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-readme-'))
  try {
    // README:start
    const me = await loadOrCreateIdentity(new FileKeystore(join(dir, 'identity.json')))
    console.log(`I am ${me.nodeId}`) // 32 lowercase base32 characters

    // A signed contact record: what a metatracker or bootpage publishes.
    const record = createContactRecord(me, {
      seq: 1,
      expiresAt: Date.now() + 3_600_000,
      endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 4000 }]
    })

    // A receiver checks it: key hashes to node ID, signature, expiry.
    const verified = verifyContactRecord(record)
    checkPeerKey(parseNodeId(verified.nodeId), verified.publicKey)
    // README:end
    expect(verified.nodeId).toBe(me.nodeId)
    expect((await loadOrCreateIdentity(new FileKeystore(join(dir, 'identity.json')))).nodeId).toBe(me.nodeId)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('    // README:end'))
  const code = block.split('\n').map(l => l.slice(4)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})
