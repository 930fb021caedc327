import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, test } from 'vitest'

const GUARD = fileURLToPath(new URL('../bin/pack-guard.js', import.meta.url))
const dirs = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

/** A package like ours: exports through publishConfig, a bin. */
function fixture () {
  const dir = mkdtempSync(join(tmpdir(), 'egtp-pack-guard-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: '@egtp/fixture',
    types: './dist/index.d.ts',
    exports: { '.': { '@egtp/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
    publishConfig: { exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' } },
    bin: { fixture: './dist/index.js' }
  }))
  mkdirSync(join(dir, 'src'))
  writeFileSync(join(dir, 'src', 'index.ts'), 'export const x = 1\n')
  return dir
}
const guard = (cwd) => spawnSync(process.execPath, [GUARD], { cwd, encoding: 'utf8' })

describe('pack-guard (prepack)', () => {
  test('refuses an unbuilt package, naming what is missing', () => {
    const r = guard(fixture())
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/@egtp\/fixture is not built \(\.\/dist\/index\.d\.ts is missing; \.\/dist\/index\.js is missing\)/)
  })

  test('refuses a build older than its sources, and lets a fresh build pass', () => {
    const dir = fixture()
    mkdirSync(join(dir, 'dist'))
    writeFileSync(join(dir, 'dist', 'index.js'), 'export const x = 1\n')
    writeFileSync(join(dir, 'dist', 'index.d.ts'), 'export declare const x = 1\n')
    const old = new Date(Date.now() - 60_000)
    for (const f of ['index.js', 'index.d.ts']) utimesSync(join(dir, 'dist', f), old, old)
    const stale = guard(dir)
    expect(stale.status).toBe(1)
    expect(stale.stderr).toMatch(/src\/ is newer than dist\//)
    const now = new Date()
    for (const f of ['index.js', 'index.d.ts']) utimesSync(join(dir, 'dist', f), now, now)
    expect(guard(dir).status).toBe(0)
  })
})
