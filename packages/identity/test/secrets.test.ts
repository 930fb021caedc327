import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { formatLogMessage } from '@egtp/interface'
import { expect, test } from 'vitest'
import { base32Encode } from '../src/base32.ts'
import {
  FileKeystore, createContactRecord, identityFromSeed, loadOrCreateIdentity, verifyContactRecord
} from '../src/index.ts'

const seed = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff)
const identity = identityFromSeed(seed)

// Every way the secret bytes could be spelled in a message.
function spellings (bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes)
  const chunk = (s: string): string[] => [s.slice(0, 8), s.slice(8, 16), s.slice(16, 32), s.slice(-16)]
  return [
    ...chunk(b.toString('hex')), ...chunk(b.toString('hex').toUpperCase()), ...chunk(b.toString('base64')),
    ...chunk(b.toString('base64url')), ...chunk(base32Encode(bytes)), [...bytes.subarray(0, 8)].join(','),
    [...bytes.subarray(0, 8)].join(', '), b.subarray(0, 8).toString('latin1')
  ]
}
const secrets = [...spellings(seed), ...spellings(identity.x25519SecretKey())]

function everyText (err: unknown, depth = 0): string {
  if (!(err instanceof Error) || depth > 8) return String(err)
  return `${err.message}\n${err.stack ?? ''}\n${inspect(err, { depth: 8 })}\n${everyText(err.cause, depth + 1)}`
}

function expectNoSecret (text: string): void {
  for (const s of secrets) expect(text.includes(s), `leaked ${JSON.stringify(s)} in ${text.slice(0, 200)}`).toBe(false)
}

test('printing, serialising or logging an identity never shows its secret', () => {
  expectNoSecret(inspect(identity, { depth: 8, showHidden: true }))
  expectNoSecret(JSON.stringify(identity))
  expectNoSecret(String(identity))
  expectNoSecret(formatLogMessage('%o %k %s', [identity, identity, identity]))
  expect(formatLogMessage('peer %k', [identity])).toBe(`peer ${identity.fingerprint}`)
})

test('no error from a corrupt or refused keystore quotes the seed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-secrets-'))
  try {
    const path = join(dir, 'identity.json')
    const hex = Buffer.from(seed).toString('hex')
    const contents = [
      `{"format":"egtp-identity","version":1,"seed":"${hex}"x}`, // JSON.parse would quote this
      `{"format":"egtp-identity","version":1,"nodeId":"${identityFromSeed(new Uint8Array(32)).nodeId}","seed":"${hex}"}`,
      `{"format":"egtp-identity","version":1,"nodeId":"${identity.nodeId}","seed":"${hex}","extra":"${hex}"}`,
      `{"format":"egtp-identity","version":2,"nodeId":"${identity.nodeId}","seed":"${hex}"}`,
      `${hex}`,
      `x${hex}` // V8 quotes the first characters of unparsable JSON
    ]
    for (const content of contents) {
      await writeFile(path, content, { mode: 0o600 })
      const errors = await Promise.all([
        new FileKeystore(path).load().catch((err: unknown) => err),
        loadOrCreateIdentity(new FileKeystore(path)).catch((err: unknown) => err),
        new FileKeystore(path).save(identity).catch((err: unknown) => err)
      ])
      for (const err of errors) {
        expect(err).toBeInstanceOf(Error)
        expectNoSecret(everyText(err))
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('verification errors carry no key material', () => {
  const record = createContactRecord(identity, { seq: 1, expiresAt: 10, endpoints: [] })
  for (const r of [record, { ...record, seq: 2 }, { ...record, nodeId: identityFromSeed(new Uint8Array(32)).nodeId }]) {
    try {
      verifyContactRecord(r, { now: 20 })
      expect.unreachable()
    } catch (err) {
      expectNoSecret(everyText(err))
    }
  }
})
