import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isEgtpError } from '@egtp/interface'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { FileKeystore, MemoryKeystore, generateIdentity, identityFromSeed, loadOrCreateIdentity, MAX_KEYSTORE_FILE_BYTES } from '../src/index.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'egtp-keystore-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777
const posix = process.platform !== 'win32'

async function rejection (p: Promise<unknown>): Promise<{ code?: string, message: string }> {
  try {
    await p
  } catch (err) {
    return { ...(isEgtpError(err) ? { code: err.code } : {}), message: (err as Error).message }
  }
  throw new Error('expected a rejection')
}

describe('MemoryKeystore', () => {
  test('starts empty, keeps what it is given, refuses to replace it silently', async () => {
    const ks = new MemoryKeystore()
    expect(await ks.load()).toBeUndefined()
    const a = generateIdentity()
    await ks.save(a)
    await ks.save(a)
    expect(await ks.load()).toBe(a)
    const b = generateIdentity()
    expect((await rejection(ks.save(b))).code).toBe('ERR_KEY_EXISTS')
    await ks.save(b, { overwrite: true })
    expect((await ks.load())?.nodeId).toBe(b.nodeId)
  })

  test('loadOrCreateIdentity makes one ephemeral identity and then returns it', async () => {
    const ks = new MemoryKeystore()
    const a = await loadOrCreateIdentity(ks)
    expect((await loadOrCreateIdentity(ks)).nodeId).toBe(a.nodeId)
    expect((await loadOrCreateIdentity(new MemoryKeystore())).nodeId).not.toBe(a.nodeId)
  })

  test('an aborted signal rejects with its reason', async () => {
    const reason = new Error('stop')
    await expect(new MemoryKeystore().load({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })
})

describe('FileKeystore', () => {
  test('loading a missing file gives undefined and writes nothing', async () => {
    const path = join(dir, 'sub', 'identity.json')
    expect(await new FileKeystore(path).load()).toBeUndefined()
    expect(await readdir(dir)).toEqual([])
  })

  test('an identity survives a restart (a new keystore on the same file)', async () => {
    const path = join(dir, 'identity.json')
    const a = await loadOrCreateIdentity(new FileKeystore(path))
    const b = await loadOrCreateIdentity(new FileKeystore(path))
    expect(b.nodeId).toBe(a.nodeId)
    expect(b.exportSeed()).toEqual(a.exportSeed())
  })

  test.runIf(posix)('writes the file 0600 and creates missing directories 0700', async () => {
    const path = join(dir, 'a', 'b', 'identity.json')
    await new FileKeystore(path).save(generateIdentity())
    expect(await mode(path)).toBe(0o600)
    expect(await mode(join(dir, 'a', 'b'))).toBe(0o700)
  })

  test('the file is a small JSON document with format, version, node ID and seed', async () => {
    const path = join(dir, 'identity.json')
    const id = identityFromSeed(new Uint8Array(32).fill(7))
    await new FileKeystore(path).save(id)
    const doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
    expect(doc).toEqual({ format: 'egtp-identity', version: 1, nodeId: id.nodeId, seed: '07'.repeat(32) })
  })

  test('never replaces a different stored key without overwrite: ERR_KEY_EXISTS, file unchanged', async () => {
    const path = join(dir, 'identity.json')
    const ks = new FileKeystore(path)
    const a = generateIdentity()
    await ks.save(a)
    const before = await readFile(path)
    const err = await rejection(ks.save(generateIdentity()))
    expect(err.code).toBe('ERR_KEY_EXISTS')
    expect(err.message).toContain(a.nodeId)
    expect(await readFile(path)).toEqual(before)
    await ks.save(a) // the same identity: a no-op
    const b = generateIdentity()
    await ks.save(b, { overwrite: true })
    expect((await new FileKeystore(path).load())?.nodeId).toBe(b.nodeId)
  })

  test('two processes racing to create an identity end with the same one', async () => {
    const path = join(dir, 'identity.json')
    const ids = await Promise.all([0, 1, 2, 3].map(async () => await loadOrCreateIdentity(new FileKeystore(path))))
    expect(new Set(ids.map(i => i.nodeId)).size).toBe(1)
    expect((await new FileKeystore(path).load())?.nodeId).toBe(ids[0]!.nodeId)
  })

  test.runIf(posix).each(['644', '640', '604', '660', '601'])('refuses a file with mode %s: ERR_KEYSTORE_PERMISSIONS', async (m) => {
    const path = join(dir, 'identity.json')
    await new FileKeystore(path).save(generateIdentity())
    await chmod(path, parseInt(m, 8))
    const err = await rejection(new FileKeystore(path).load())
    expect(err.code).toBe('ERR_KEYSTORE_PERMISSIONS')
    expect(err.message).toContain(`(mode ${m}); run: chmod 600 ${path}`)
    await expect(loadOrCreateIdentity(new FileKeystore(path))).rejects.toThrow(/^ERR_KEYSTORE_PERMISSIONS/)
  })

  test.runIf(posix)('accepts a file only its owner can read (0400)', async () => {
    const path = join(dir, 'identity.json')
    const id = generateIdentity()
    await new FileKeystore(path).save(id)
    await chmod(path, 0o400)
    expect((await new FileKeystore(path).load())?.nodeId).toBe(id.nodeId)
  })

  const good = identityFromSeed(new Uint8Array(32).fill(1))
  const goodDoc = { format: 'egtp-identity', version: 1, nodeId: good.nodeId, seed: '01'.repeat(32) }
  test.each<[string, string | Uint8Array]>([
    ['an empty file', ''],
    ['truncated JSON', JSON.stringify(goodDoc).slice(0, 40)],
    ['not JSON', 'hello'],
    ['invalid UTF-8', Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)],
    ['a JSON array', '[]'],
    ['another format', JSON.stringify({ ...goodDoc, format: 'ssh' })],
    ['a seed that does not match the node ID', JSON.stringify({ ...goodDoc, seed: '02'.repeat(32) })],
    ['a short seed', JSON.stringify({ ...goodDoc, seed: '01'.repeat(31) })],
    ['an upper-case hex seed', JSON.stringify({ ...goodDoc, seed: 'AB'.repeat(32) })],
    ['an extra field', JSON.stringify({ ...goodDoc, extra: true })],
    ['a missing node ID', JSON.stringify({ ...goodDoc, nodeId: undefined })],
    ['an oversized file', ' '.repeat(MAX_KEYSTORE_FILE_BYTES + 1)]
  ])('reports %s as ERR_KEYSTORE_CORRUPT and never replaces it', async (_name, content) => {
    const path = join(dir, 'identity.json')
    await writeFile(path, content, { mode: 0o600 })
    const before = await readFile(path)
    expect((await rejection(new FileKeystore(path).load())).code).toBe('ERR_KEYSTORE_CORRUPT')
    expect((await rejection(loadOrCreateIdentity(new FileKeystore(path)))).code).toBe('ERR_KEYSTORE_CORRUPT')
    expect((await rejection(new FileKeystore(path).save(generateIdentity()))).code).toBe('ERR_KEYSTORE_CORRUPT')
    expect(await readFile(path)).toEqual(before)
  })

  test('the good document itself loads (the corrupt cases above differ from it in one thing)', async () => {
    const path = join(dir, 'identity.json')
    await writeFile(path, JSON.stringify(goodDoc), { mode: 0o600 })
    expect((await new FileKeystore(path).load())?.nodeId).toBe(good.nodeId)
  })

  test('a newer format version is ERR_KEYSTORE with an upgrade hint', async () => {
    const path = join(dir, 'identity.json')
    await writeFile(path, JSON.stringify({ ...goodDoc, version: 2 }), { mode: 0o600 })
    const err = await rejection(new FileKeystore(path).load())
    expect(err.code).toBe('ERR_KEYSTORE')
    expect(err.message).toMatch(/version 2.*reads version 1/)
  })

  test('a directory where the file should be is ERR_KEYSTORE, and a failed save leaves no temp file', async () => {
    const path = join(dir, 'identity.json')
    await mkdir(path)
    await writeFile(join(path, 'x'), 'x')
    expect((await rejection(new FileKeystore(path).load())).code).toBe('ERR_KEYSTORE')
    expect((await rejection(new FileKeystore(path).save(generateIdentity(), { overwrite: true }))).code).toBe('ERR_KEYSTORE')
    expect(await readdir(dir)).toEqual(['identity.json'])
  })

  test('a successful save leaves exactly one file, and replacing one is atomic (no partial state visible)', async () => {
    const path = join(dir, 'identity.json')
    const ks = new FileKeystore(path)
    await ks.save(generateIdentity())
    const readers: Array<Promise<unknown>> = []
    for (let i = 0; i < 20; i++) {
      readers.push(new FileKeystore(path).load())
      await ks.save(generateIdentity(), { overwrite: true })
    }
    for (const r of await Promise.all(readers)) expect(r).toBeDefined()
    expect(await readdir(dir)).toEqual(['identity.json'])
  })

  test('an aborted save rejects with the signal\'s reason and writes nothing', async () => {
    const path = join(dir, 'identity.json')
    const reason = new Error('shutting down')
    await expect(new FileKeystore(path).save(generateIdentity(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(await readdir(dir)).toEqual([])
  })

  test('a temp file left by a crashed write is ignored: the old file still loads, and the next save works', async () => {
    const path = join(dir, 'identity.json')
    const id = generateIdentity()
    await new FileKeystore(path).save(id)
    // What a crash between writing the temp file and renaming it leaves behind.
    await writeFile(join(dir, '.identity.json.0123456789ab.tmp'), '{"format":"egtp-id', { mode: 0o600 })
    expect((await new FileKeystore(path).load())?.nodeId).toBe(id.nodeId)
    expect((await loadOrCreateIdentity(new FileKeystore(path))).nodeId).toBe(id.nodeId)
    const next = generateIdentity()
    await new FileKeystore(path).save(next, { overwrite: true })
    expect((await new FileKeystore(path).load())?.nodeId).toBe(next.nodeId)
  })

  test('a crash before the first rename leaves no identity file: loading finds none instead of a torn one', async () => {
    const path = join(dir, 'identity.json')
    await writeFile(join(dir, '.identity.json.0123456789ab.tmp'), '{"format":"egtp-id', { mode: 0o600 })
    expect(await new FileKeystore(path).load()).toBeUndefined()
  })

  test.runIf(posix)('a replaced file is 0600 again, whatever mode the old one had', async () => {
    const path = join(dir, 'identity.json')
    await new FileKeystore(path).save(generateIdentity())
    await chmod(path, 0o400)
    await new FileKeystore(path).save(generateIdentity(), { overwrite: true })
    expect(await mode(path)).toBe(0o600)
  })

  test.runIf(posix)('a symlink to a valid keystore file is followed', async () => {
    const path = join(dir, 'real.json')
    const id = generateIdentity()
    await new FileKeystore(path).save(id)
    await symlink(path, join(dir, 'link.json'))
    expect((await new FileKeystore(join(dir, 'link.json')).load())?.nodeId).toBe(id.nodeId)
  })
})
