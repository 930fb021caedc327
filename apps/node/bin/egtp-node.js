#!/usr/bin/env -S node --initial-heap-size=128
// The installed command. A committed file, so that package managers link it at install time, before the first
// build; it runs the built CLI (dist/main.js).
import('../dist/main.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js')) {
    process.stderr.write('egtp-node: not built yet: run `pnpm build` (or `pnpm install` from the published package)\n')
    process.exit(2)
  }
  throw err
})
