#!/usr/bin/env node
// Packs the package in the current directory (and the workspace packages it depends on, which are not on
// the registry yet), installs the tarballs into an empty project with npm, and imports every export
// subpath. Proves the package works with only its declared dependencies.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { readWorkspace } from './check-layers.js'

const pkgDir = process.cwd()
const root = resolve(pkgDir, '../..')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const byName = new Map(readWorkspace(root).map(p => [p.json.name, p]))

const work = mkdtempSync(join(tmpdir(), 'egtp-pack-'))
try {
  const needed = new Set()
  const collect = (name) => {
    if (needed.has(name)) return
    needed.add(name)
    const p = byName.get(name)
    for (const dep of Object.keys({ ...p.json.dependencies, ...p.json.peerDependencies })) if (byName.has(dep)) collect(dep)
  }
  collect(pkg.name)

  const tarballs = {}
  for (const name of needed) {
    const dir = byName.get(name).dir
    execFileSync('pnpm', ['pack', '--pack-destination', work], { cwd: dir, stdio: 'pipe' })
    const file = readdirSync(work).find(f => f.endsWith('.tgz') && !Object.values(tarballs).includes(`file:${join(work, f)}`) &&
      f.startsWith(name.replace('@', '').replace('/', '-')))
    tarballs[name] = `file:${join(work, file)}`
  }

  // Optional peers (vitest for @egtp/testing/compliance) are what a consumer of the subpath that needs them
  // installs; npm leaves them out, so the consumer here names them to import every subpath.
  const optionalPeers = Object.fromEntries(Object.entries(pkg.peerDependencies ?? {})
    .filter(([dep]) => pkg.peerDependenciesMeta?.[dep]?.optional === true && !byName.has(dep)))
  const consumer = join(work, 'consumer')
  execFileSync('mkdir', ['-p', consumer])
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { ...optionalPeers, ...tarballs } }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: consumer, stdio: 'pipe' })

  const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', pkg.name, 'package.json'), 'utf8'))
  if (installed.exports === undefined && installed.bin !== undefined) {
    // An app: each bin npm linked runs and answers --help.
    const bins = Object.keys(typeof installed.bin === 'string' ? { [pkg.name.split('/').pop()]: installed.bin } : installed.bin)
    for (const name of bins) execFileSync(join(consumer, 'node_modules', '.bin', name), ['--help'], { cwd: consumer, stdio: 'pipe' })
    console.log(`pack-check: ${pkg.name} installs from its tarball with ${needed.size - 1} workspace dependencies; ${bins.join(', ')} --help run`)
  } else {
    if (JSON.stringify(installed.exports).includes('@egtp/source')) throw new Error(`${pkg.name}: the packed exports map still names the @egtp/source condition`)
    const subpaths = Object.keys(installed.exports ?? { '.': null }).filter(s => s !== './package.json')
    const script = subpaths.map(s => {
      const spec = s === '.' ? pkg.name : `${pkg.name}/${s.slice(2)}`
      return `{ const m = await import(${JSON.stringify(spec)}); if (Object.keys(m).length === 0) throw new Error('no exports in ' + ${JSON.stringify(spec)}); }`
    }).join('\n')
    writeFileSync(join(consumer, 'check.mjs'), script)
    execFileSync(process.execPath, ['check.mjs'], { cwd: consumer, stdio: 'inherit' })
    console.log(`pack-check: ${pkg.name} installs from its tarball with ${needed.size - 1} workspace dependencies and imports ${subpaths.join(', ')}`)
  }
} catch (err) {
  console.error(`pack-check: ${pkg.name} failed`)
  console.error(err.stderr?.toString() || err.message)
  process.exitCode = 1
} finally {
  rmSync(work, { recursive: true, force: true })
}
