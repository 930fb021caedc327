#!/usr/bin/env node
// prepack guard: refuses to pack (and so to publish) a package that is not built. Every file its published
// exports map, `types` and `bin` name must exist, and no source file may be newer than the build.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.cwd()
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
const targets = new Set()
const walk = (v) => {
  if (typeof v === 'string') { if (v.startsWith('./') && !v.endsWith('package.json')) targets.add(v) } else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) walk(x)
}
walk(pkg.publishConfig?.exports ?? pkg.exports)
if (typeof pkg.types === 'string') targets.add(pkg.types)
walk(typeof pkg.bin === 'string' ? { bin: pkg.bin } : pkg.bin)
const missing = [...targets].filter(t => !existsSync(join(dir, t)))
const newest = (d) => {
  let t = 0
  if (!existsSync(d)) return t
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}
const problems = missing.map(t => `${t} is missing`)
const src = newest(join(dir, 'src'))
const dist = newest(join(dir, 'dist'))
if (missing.length === 0 && src > dist) problems.push('src/ is newer than dist/')
if (problems.length > 0) {
  console.error(`pack-guard: ${pkg.name} is not built (${problems.join('; ')}): run \`pnpm turbo run build --filter=${pkg.name}\` first`)
  process.exit(1)
}
