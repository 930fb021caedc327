import { createRequire } from 'node:module'

/**
 * libsodium through the optional `sodium-native`, typed as the functions `names` a caller uses; undefined when
 * it is not installed, does not load, lacks one of them, or EGTP_NO_SODIUM=1 (to force the node:crypto paths).
 */
export function loadSodium<T> (names: ReadonlyArray<keyof T & string>): T | undefined {
  if (process.env.EGTP_NO_SODIUM === '1') return undefined
  try {
    const s = createRequire(import.meta.url)('sodium-native') as Record<string, unknown>
    return names.every(name => typeof s[name] === 'function') ? s as T : undefined
  } catch {
    return undefined
  }
}
