import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { FileStore, fileStoreFileName, MAX_FILE_STORE_KEY_BYTES } from '../src/index.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'egtp-store-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

const posix = process.platform !== 'win32'
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)

describe('FileStore', () => {
  test('get/put/delete, and values survive a new store on the same directory', async () => {
    const store = new FileStore(join(dir, 'state'))
    expect(await store.get('replay/peer')).toBeUndefined()
    await store.put('replay/peer', bytes(1, 2, 3))
    expect(await store.get('replay/peer')).toEqual(bytes(1, 2, 3))
    await store.put('replay/peer', bytes(4))
    expect(await new FileStore(join(dir, 'state')).get('replay/peer')).toEqual(bytes(4))
    await store.put('empty', new Uint8Array(0))
    expect(await store.get('empty')).toEqual(new Uint8Array(0))
    await store.delete('replay/peer')
    await store.delete('replay/peer')
    expect(await store.get('replay/peer')).toBeUndefined()
  })

  test.runIf(posix)('creates the directory 0700 and files 0600', async () => {
    const store = new FileStore(join(dir, 'state'))
    await store.put('k', bytes(1))
    expect((await stat(join(dir, 'state'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(dir, 'state', fileStoreFileName('k')))).mode & 0o777).toBe(0o600)
  })

  test.runIf(posix)('refuses a directory that group or others can write: ERR_KEYSTORE_PERMISSIONS', async () => {
    await chmod(dir, 0o777)
    await expect(new FileStore(dir).get('k')).rejects.toThrow(/^ERR_KEYSTORE_PERMISSIONS: .*chmod 700/)
    await chmod(dir, 0o700)
  })

  test('keys never escape the directory and map to distinct, safe file names', async () => {
    const store = new FileStore(dir)
    const keys = ['../escape', '/abs', '.', '..', 'A', 'a', '%61', 'ключ', 'a b', 'a/b']
    for (const [i, k] of keys.entries()) await store.put(k, bytes(i))
    for (const [i, k] of keys.entries()) expect(await store.get(k)).toEqual(bytes(i))
    const names = await readdir(dir)
    expect(names).toHaveLength(keys.length)
    for (const n of names) expect(n).toMatch(/^[a-z0-9_%-]+\.v$/)
  })

  test('the file name encoding is injective and lowercase', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), (a, b) => {
      fc.pre(a !== b)
      expect(fileStoreFileName(a)).not.toBe(fileStoreFileName(b))
      expect(fileStoreFileName(a)).toMatch(/^[a-z0-9_%-]+\.v$/)
    }))
  })

  test('bad keys and oversized values are programmer errors', async () => {
    const store = new FileStore(dir, { maxValueBytes: 8 })
    await expect(store.put('', bytes(1))).rejects.toThrow(TypeError)
    await expect(store.put('x'.repeat(MAX_FILE_STORE_KEY_BYTES + 1), bytes(1))).rejects.toThrow(RangeError)
    await expect(store.put('k', new Uint8Array(9))).rejects.toThrow(RangeError)
    expect(() => new FileStore(dir, { maxValueBytes: 0 })).toThrow(RangeError)
  })

  test('a file larger than maxValueBytes on disk is ERR_KEYSTORE_CORRUPT', async () => {
    await writeFile(join(dir, fileStoreFileName('k')), new Uint8Array(9), { mode: 0o600 })
    await expect(new FileStore(dir, { maxValueBytes: 8 }).get('k')).rejects.toThrow(/^ERR_KEYSTORE_CORRUPT/)
  })

  test('concurrent writes to one key apply in call order and leave no temp files', async () => {
    const store = new FileStore(dir)
    await Promise.all(Array.from({ length: 20 }, async (_, i) => { await store.put('k', bytes(i)) }))
    expect(await store.get('k')).toEqual(bytes(19))
    await Promise.all([store.put('k', bytes(1)), store.delete('k')])
    expect(await store.get('k')).toBeUndefined()
    expect(await readdir(dir)).toEqual([])
  })

  test('put copies the value: a caller reusing its buffer does not change what is stored', async () => {
    const store = new FileStore(dir)
    const buf = bytes(1, 2, 3)
    const p = store.put('k', buf)
    buf.fill(9)
    await p
    expect(await store.get('k')).toEqual(bytes(1, 2, 3))
  })

  test('an aborted signal rejects with its reason and writes nothing', async () => {
    const reason = new Error('stop')
    await expect(new FileStore(dir).put('k', bytes(1), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(await readdir(dir)).toEqual([])
  })
})
