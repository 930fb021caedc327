/** Every async API takes these as its last argument. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** Combine an optional caller signal with internal ones; `undefined` entries are skipped. */
export function anySignal (...signals: Array<AbortSignal | undefined>): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined)
  if (present.length === 1) return present[0] as AbortSignal
  return AbortSignal.any(present)
}
