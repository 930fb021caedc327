#!/usr/bin/env node
// The publishing test: every public package of the workspace (packages/*, apps/*, found from their
// package.json, so packages added later are covered) goes to a local Verdaccio registry the way a release
// does it (changeset version, changeset publish: pnpm publish with its prepack guard) from a copy of the workspace. Then, as a
// stranger would, each is installed alone, with only what its README's install line names, into an empty
// project, and its README example runs verbatim as JavaScript (Node ESM); apps run their bins. Finally a newer
// @egtp/tcp (with a newer @egtp/interface) beside the older @egtp/node installs one copy of @egtp/interface
// and type-checks with the oldest TypeScript the READMEs promise.
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { importsOf, installLine, linksOutOfPackage, packageOf, usageExample } from './readme.js'
import { startRegistry } from './registry.js'

/** The oldest TypeScript the READMEs promise for the published types. */
export const MIN_TYPESCRIPT = '5.7'
const EXAMPLE_TIMEOUT_MS = 30_000
const UPLINK = 'https://registry.npmjs.org/'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
const started = performance.now()
const failures = []
const say = (text) => { process.stdout.write(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s  ${text}\n`) }
const check = (ok, text) => { say(`${ok ? 'ok  ' : 'FAIL'} ${text}`); if (!ok) failures.push(text) }

function run (cmd, args, options) {
  try {
    return execFileSync(cmd, args, { stdio: 'pipe', encoding: 'utf8', timeout: 120_000, ...options })
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${options.cwd}) failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`)
  }
}

/** The workspace's public packages (packages/*, apps/*) and their folders. */
function publicPackages (root) {
  const found = []
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group))) {
      const file = join(root, group, name, 'package.json')
      if (!existsSync(file)) continue
      const json = JSON.parse(readFileSync(file, 'utf8'))
      if (json.private !== true) found.push({ dir: join(root, group, name), json })
    }
  }
  return found
}

/** A copy of the workspace (sources and builds) to version and publish from: changeset version rewrites files. */
function copyWorkspace (to) {
  const files = run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT }).split('\0').filter(Boolean)
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue
    mkdirSync(dirname(join(to, f)), { recursive: true })
    cpSync(join(ROOT, f), join(to, f), { preserveTimestamps: true })
  }
  for (const dir of ['.', ...['packages', 'apps', 'tooling', 'tests'].flatMap(g => readdirSync(join(ROOT, g)).map(n => join(g, n)))]) {
    if (existsSync(join(ROOT, dir, 'dist'))) cpSync(join(ROOT, dir, 'dist'), join(to, dir, 'dist'), { recursive: true, preserveTimestamps: true })
  }
}

/** Every `sourceMappingURL` in an installed package points at a file that is there, and so does each map's sources. */
function danglingMaps (pkgDir) {
  const dangling = []
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) { if (e.name !== 'node_modules') walk(p); continue }
      if (!/\.(js|d\.ts)$/.test(e.name)) continue
      const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(p, 'utf8'))
      if (m === null) continue
      const map = join(dirname(p), m[1])
      if (!existsSync(map)) { dangling.push(relative(pkgDir, map)); continue }
      for (const s of JSON.parse(readFileSync(map, 'utf8')).sources ?? []) if (!existsSync(join(dirname(map), s))) dangling.push(relative(pkgDir, join(dirname(map), s)))
    }
  }
  walk(pkgDir)
  return dangling
}

async function runNode (args, cwd, env, timeoutMs) {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  child.stderr.on('data', (c) => { out += c })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
  const code = await new Promise(resolve => child.once('exit', (c, s) => { resolve(c ?? s) }))
  clearTimeout(timer)
  return { code, out }
}

/** A package's registry document (one retry: Verdaccio may close a kept-alive connection). */
async function registryJson (url, name) {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${url}${name.replace('/', '%2f')}`, { headers: { connection: 'close' } })
      return res.ok ? await res.json() : undefined
    } catch (err) {
      if (attempt > 0) throw err
    }
  }
}

/** npm install, tried twice: packages other than ours come through the public registry, which may hiccup. */
function npmInstall (specs, cwd, env) {
  try {
    run('npm', ['install', ...specs], { cwd, env, timeout: 180_000 })
  } catch {
    say(`npm install ${specs.join(' ')}: retrying once`)
    run('npm', ['install', ...specs], { cwd, env, timeout: 180_000 })
  }
}

function emptyProject (dir) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'stranger', version: '1.0.0', private: true, type: 'module' }))
  return dir
}

async function main () {
  const work = mkdtempSync(join(tmpdir(), 'egtp-publish-'))
  let registry
  try {
    registry = await startRegistry(work, UPLINK)
    const { env } = registry
    say(`registry ${registry.url} (Verdaccio, throwaway user; npm userconfig ${join(work, 'npmrc')})`)

    // 1. Release from a copy: version, check, publish.
    const repo = join(work, 'repo')
    copyWorkspace(repo)
    const changeset = join(ROOT, 'node_modules', '.bin', 'changeset')
    run(changeset, ['version'], { cwd: repo, env })
    // pnpm publish writes the versions of workspace dependencies from what is installed: install the new ones.
    const pnpm = (args) => run('pnpm', args, { cwd: repo, env: { ...env, npm_config_registry: UPLINK }, timeout: 300_000 })
    pnpm(['install', '--offline', '--no-frozen-lockfile', '--ignore-scripts'])
    // (release-check, publint and attw, runs in `pnpm test` through tooling/scripts: not again here, for time.)
    run(changeset, ['publish'], { cwd: repo, env, timeout: 300_000 })
    const packages = publicPackages(repo)
    const versions = Object.fromEntries(packages.map(p => [p.json.name, p.json.version]))
    for (const p of packages) {
      const meta = await registryJson(registry.url, p.json.name)
      check(meta?.versions?.[p.json.version] !== undefined, `${p.json.name}@${p.json.version} published`)
    }

    // 2. A stranger installs each package alone and runs its README example.
    for (const p of packages) {
      const name = p.json.name
      const readme = readFileSync(join(p.dir, 'README.md'), 'utf8')
      const out = linksOutOfPackage(readme)
      check(out.length === 0, `${name}: README links stay inside the package or are absolute${out.length > 0 ? ` (${out.join(', ')})` : ''}`)
      check(/ESM only/i.test(readme), `${name}: README says it is ESM-only`)
      if (p.json.types !== undefined) check(readme.includes(`TypeScript ${MIN_TYPESCRIPT}`), `${name}: README names the minimum TypeScript (${MIN_TYPESCRIPT})`)
      const install = installLine(readme)
      check(install?.[0] === name || (install?.includes(name) ?? false), `${name}: README install line names it (${install?.join(' ') ?? 'none'})`)
      if (install === undefined) continue
      const dir = emptyProject(join(work, 'stranger', name.replace('/', '+')))
      npmInstall(install, dir, env)
      check(existsSync(join(dir, 'node_modules', name, 'LICENSE')), `${name}: the tarball carries its LICENSE`)
      const dangling = danglingMaps(join(dir, 'node_modules', name))
      check(dangling.length === 0, `${name}: no dangling source maps${dangling.length > 0 ? ` (${dangling.slice(0, 3).join(', ')})` : ''}`)

      if (p.json.bin !== undefined) {
        for (const bin of Object.keys(p.json.bin)) {
          const r = await runNode([join(dir, 'node_modules', '.bin', bin), '--help'], dir, env, EXAMPLE_TIMEOUT_MS)
          check(r.code === 0 && /usage:/.test(r.out), `${name}: \`${bin} --help\` runs after \`npm install ${install.join(' ')}\``)
          // The operator's way without installing: npx fetches it from the registry.
          const npx = emptyProject(join(work, 'npx', bin))
          const viaNpx = run('npx', ['--yes', '-p', `${name}@${p.json.version}`, bin, '--help'], { cwd: npx, env, timeout: 180_000 })
          check(/usage:/.test(viaNpx), `${name}: \`npx -p ${name} ${bin} --help\` runs`)
        }
        continue
      }
      const example = usageExample(readme)
      if (example === undefined) { check(false, `${name}: README has a Usage example`); continue }
      const undeclared = importsOf(example.code).map(packageOf).filter(n => n !== undefined && !install.includes(n))
      check(undeclared.length === 0, `${name}: the example imports only what the install line names${undeclared.length > 0 ? ` (also ${[...new Set(undeclared)].join(', ')})` : ''}`)
      writeFileSync(join(dir, 'example.mjs'), example.code)
      const r = await runNode(['example.mjs'], dir, env, EXAMPLE_TIMEOUT_MS)
      check(r.code === 0, `${name}: the README example runs as plain JavaScript${r.code === 0 ? '' : ` (exit ${r.code}):\n${r.out.split('\n').slice(0, 8).join('\n')}`}`)
    }

    // 3. A newer @egtp/tcp (and @egtp/interface) beside the older @egtp/node: one @egtp/interface, and tsc passes.
    writeFileSync(join(repo, '.changeset', 'skew.md'), '---\n"@egtp/interface": minor\n"@egtp/tcp": minor\n---\n\nA newer release of the contracts and the transport.\n')
    run(changeset, ['version'], { cwd: repo, env })
    pnpm(['install', '--offline', '--no-frozen-lockfile', '--ignore-scripts'])
    run(changeset, ['publish'], { cwd: repo, env, timeout: 300_000 })
    const newer = Object.fromEntries(publicPackages(repo).map(p => [p.json.name, p.json.version]))
    check(newer['@egtp/tcp'] !== versions['@egtp/tcp'] && newer['@egtp/node'] === versions['@egtp/node'],
      `a newer @egtp/tcp ${newer['@egtp/tcp']} (interface ${newer['@egtp/interface']}) published; @egtp/node stays ${versions['@egtp/node']}`)
    const skew = emptyProject(join(work, 'stranger', 'skew'))
    npmInstall([`@egtp/node@${versions['@egtp/node']}`, `@egtp/tcp@${newer['@egtp/tcp']}`, `typescript@~${MIN_TYPESCRIPT}.0`, '@types/node@^20'], skew, env)
    const copies = run('find', ['node_modules', '-path', '*/@egtp/interface/package.json'], { cwd: skew }).trim().split('\n').filter(Boolean)
    check(copies.length === 1, `one copy of @egtp/interface installed (${copies.map(c => `${c}: ${JSON.parse(readFileSync(join(skew, c), 'utf8')).version}`).join(', ')})`)
    writeFileSync(join(skew, 'check.ts'), [
      "import { createNode } from '@egtp/node'",
      "import { tcp } from '@egtp/tcp'",
      "const node = await createNode({ commstrats: [tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()] })",
      'await node.start()',
      'await node.stop()',
      ''
    ].join('\n'))
    writeFileSync(join(skew, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] }, files: ['check.ts'] }))
    const tsc = await runNode([join(skew, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], skew, env, 120_000)
    check(tsc.code === 0, `the older @egtp/node with the newer @egtp/tcp type-checks with TypeScript ${MIN_TYPESCRIPT}${tsc.code === 0 ? '' : `:\n${tsc.out.slice(0, 1500)}`}`)
  } finally {
    await registry?.stop()
    rmSync(work, { recursive: true, force: true })
  }
  say(failures.length === 0 ? 'publish test passed' : `publish test FAILED: ${failures.length} check(s)`)
  if (failures.length > 0) process.exitCode = 1
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
