// Durable file writes: temp file (0600) in the same directory, write, fsync, rename (or link when the target
// must not exist), fsync the directory. A crash leaves the old file or the new one, never a torn one; a
// failure removes the temp file.
import { randomBytes } from 'node:crypto'
import { link, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export const FILE_MODE = 0o600
export const DIR_MODE = 0o700
export const TEMP_SUFFIX = '.tmp'

export function errnoCode (err: unknown): string | undefined {
  return err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined
}

/** fsync a directory so a rename in it is durable. Platforms that cannot (Windows) are skipped. */
export async function syncDirectory (dir: string): Promise<void> {
  let fh
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch (err) {
    const code = errnoCode(err)
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err
  } finally {
    await fh?.close()
  }
}

export interface AtomicWriteOptions {
  /** Fail with an `EEXIST` error instead of replacing an existing file (atomic: a hard link). */
  exclusive?: boolean
  signal?: AbortSignal | undefined
}

export async function writeFileAtomic (path: string, data: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  options.signal?.throwIfAborted()
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`)
  try {
    const fh = await open(tmp, 'wx', FILE_MODE)
    try {
      await fh.chmod(FILE_MODE) // the umask may have removed bits; never added any
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    options.signal?.throwIfAborted() // the last point where aborting leaves nothing behind
    if (options.exclusive === true) await linkExclusive(tmp, path)
    else await rename(tmp, path)
    await syncDirectory(dir)
  } finally {
    await unlink(tmp).catch(() => {}) // gone already after a rename
  }
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

async function linkExclusive (tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path)
  } catch (err) {
    if (!NO_HARD_LINKS.has(errnoCode(err) ?? '')) throw err
    // A file system without hard links: check, then rename (a race with another process remains possible).
    const existing = await open(path, 'r').then(async fh => { await fh.close(); return true }, () => false)
    if (existing) throw Object.assign(new Error(`EEXIST: file already exists, ${path}`), { code: 'EEXIST' })
    await rename(tmp, path)
  }
}
