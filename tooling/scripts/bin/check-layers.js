#!/usr/bin/env node
// The EGTP/MNET split, checked: every import of every workspace package must follow the layer table of
// DEVELOPERS.md / STYLE.md §2.3 and be a declared dependency. Prints each violation naming both files.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'

/** Which workspace packages each library package may import (the downward DAG). */
export const LAYERS = {
  '@egtp/interface': [],
  '@egtp/codec': ['@egtp/interface'],
  '@egtp/identity': ['@egtp/interface', '@egtp/codec'],
  '@egtp/session': ['@egtp/interface', '@egtp/codec', '@egtp/identity'],
  '@egtp/tcp': ['@egtp/interface', '@egtp/codec'],
  '@egtp/node': ['@egtp/interface', '@egtp/codec', '@egtp/identity', '@egtp/session'],
  '@egtp/relay': ['@egtp/interface', '@egtp/codec', '@egtp/identity', '@egtp/node'],
  '@egtp/metatracker': ['@egtp/interface', '@egtp/codec', '@egtp/identity', '@egtp/node'],
  '@egtp/bootpage': ['@egtp/interface', '@egtp/codec', '@egtp/identity'],
  // The test kit: its in-memory commstrat, compliance suite and startNetwork need only the contracts. It takes
  // createNode (and any real commstrat) by injection, because node, tcp and relay test with it: an edge to
  // any of them would be a cycle in the workspace graph (turbo refuses one even through devDependencies).
  '@egtp/testing': ['@egtp/interface']
}

/** Node builtins that mean "sockets": forbidden in packages that must not know the network. */
const SOCKET_MODULES = new Set(['net', 'dgram', 'tls', 'http', 'https', 'http2', 'dns'])
export const NO_SOCKETS = new Set(['@egtp/interface', '@egtp/codec', '@egtp/identity', '@egtp/session', '@egtp/node'])

const BUILTINS = new Set(builtinModules)
const IMPORT_RE = /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function listFiles (dir, out = []) {
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures' || name.startsWith('.')) continue
    const full = join(dir, name)
    if (statSync(full).isDirectory()) listFiles(full, out)
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(full)
  }
  return out
}

function packageName (spec) {
  if (spec.startsWith('@')) return spec.split('/').slice(0, 2).join('/')
  return spec.split('/')[0]
}

/** Read every workspace package below `root` (packages/*, apps/*, tests/*, tooling/*). */
export function readWorkspace (root) {
  const pkgs = []
  for (const group of ['packages', 'apps', 'tests', 'tooling']) {
    const base = join(root, group)
    if (!existsSync(base)) continue
    for (const name of readdirSync(base)) {
      const file = join(base, name, 'package.json')
      if (!existsSync(file)) continue
      const json = JSON.parse(readFileSync(file, 'utf8'))
      pkgs.push({ dir: join(base, name), group, json })
    }
  }
  return pkgs
}

/** @returns {string[]} violations, each naming the importing file and what it imports */
export function checkLayers (root) {
  const violations = []
  const pkgs = readWorkspace(root)
  const byName = new Map(pkgs.map(p => [p.json.name, p]))
  const rel = (f) => relative(root, f)
  const entryOf = (name) => {
    const p = byName.get(name)
    return p ? rel(join(p.dir, 'src/index.ts')) : name
  }

  for (const pkg of pkgs) {
    const name = pkg.json.name
    const deps = new Set(Object.keys(pkg.json.dependencies ?? {}).concat(Object.keys(pkg.json.peerDependencies ?? {})))
    const devDeps = new Set([...deps, ...Object.keys(pkg.json.devDependencies ?? {})])
    const isApp = pkg.group === 'apps'
    const isLibrary = pkg.group === 'packages' && pkg.json.private !== true
    // A private package under tests/ (e.g. the bench suite) is never installed by anyone: its sources may use
    // its devDependencies (peers it compares against, test-only tools).
    const srcDeps = pkg.group === 'tests' && pkg.json.private === true ? devDeps : deps

    // package.json edges
    for (const dep of deps) {
      const target = byName.get(dep)
      if (!target) continue
      if (target.group === 'apps') violations.push(`${rel(join(pkg.dir, 'package.json'))} depends on the app ${dep} (${rel(join(target.dir, 'package.json'))}): nothing may depend on an app`)
      if (target.group === 'tests') violations.push(`${rel(join(pkg.dir, 'package.json'))} depends on the test package ${dep}: nothing may depend on tests`)
      if (isLibrary && LAYERS[name] && dep.startsWith('@egtp/') && !LAYERS[name].includes(dep)) {
        violations.push(`${rel(join(pkg.dir, 'package.json'))} declares ${dep} (${entryOf(dep)}): ${name} may depend only on ${LAYERS[name].join(', ') || 'nothing in the workspace'}`)
      }
    }
    if (isLibrary && !LAYERS[name]) violations.push(`${rel(join(pkg.dir, 'package.json'))}: ${name} has no row in the layer table (tooling/scripts/bin/check-layers.js)`)

    const importedBySrc = new Set()
    for (const file of listFiles(pkg.dir)) {
      const inSrc = relative(pkg.dir, file).startsWith('src')
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1')
      for (const m of text.matchAll(IMPORT_RE)) {
        const spec = m[1] ?? m[2]
        if (spec.startsWith('.') || spec.startsWith('/')) {
          const target = resolve(file, '..', spec)
          if (!target.startsWith(pkg.dir)) violations.push(`${rel(file)} imports ${rel(target)}: a relative import must stay inside its package`)
          continue
        }
        const bare = spec.startsWith('node:') ? spec.slice(5) : spec
        if (BUILTINS.has(bare) || BUILTINS.has(bare.split('/')[0])) {
          if (inSrc && NO_SOCKETS.has(name) && SOCKET_MODULES.has(bare.split('/')[0])) {
            violations.push(`${rel(file)} imports ${spec}: ${name} must not know sockets`)
          }
          continue
        }
        const dep = packageName(spec)
        if (dep === name) continue
        if (inSrc) importedBySrc.add(dep)
        const target = byName.get(dep)
        if (/\/(src|dist)(\/|$)/.test(spec.slice(dep.length))) {
          violations.push(`${rel(file)} imports ${spec}: deep imports are forbidden, use the package's exports`)
        }
        if (!(inSrc ? srcDeps : devDeps).has(dep)) {
          violations.push(`${rel(file)} imports ${dep}${target ? ` (${entryOf(dep)})` : ''}, which ${rel(join(pkg.dir, 'package.json'))} does not declare${inSrc ? ' in dependencies' : ''}`)
          continue
        }
        if (target?.group === 'apps' && !isApp) violations.push(`${rel(file)} imports the app ${dep} (${entryOf(dep)})`)
        if (target?.group === 'apps' && isApp) violations.push(`${rel(file)} imports another app ${dep} (${entryOf(dep)}): apps never import each other`)
        if (inSrc && isLibrary && LAYERS[name] && dep.startsWith('@egtp/') && !LAYERS[name].includes(dep)) {
          violations.push(`${rel(file)} imports ${dep} (${entryOf(dep)}): ${name} may import only ${LAYERS[name].join(', ') || 'no workspace package'}`)
        }
      }
    }

    // A library's runtime dependencies are what installing it pulls: each must be imported by its source.
    if (isLibrary) {
      for (const dep of Object.keys(pkg.json.dependencies ?? {})) {
        if (!importedBySrc.has(dep)) violations.push(`${rel(join(pkg.dir, 'package.json'))} declares ${dep}, which nothing in ${rel(join(pkg.dir, 'src'))} imports: drop it or move it to devDependencies`)
      }
    }
  }

  // Cycles in the declared graph (any workspace package).
  const graph = new Map(pkgs.map(p => [p.json.name, Object.keys({ ...p.json.dependencies, ...p.json.peerDependencies }).filter(d => byName.has(d))]))
  const state = new Map()
  const visit = (n, trail) => {
    if (state.get(n) === 'done') return
    if (state.get(n) === 'open') {
      violations.push(`dependency cycle: ${[...trail.slice(trail.indexOf(n)), n].join(' -> ')}`)
      return
    }
    state.set(n, 'open')
    for (const d of graph.get(n) ?? []) visit(d, [...trail, n])
    state.set(n, 'done')
  }
  for (const n of graph.keys()) visit(n, [])
  return violations
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const root = resolve(process.argv[2] ?? '.')
  const violations = checkLayers(root)
  if (violations.length > 0) {
    console.error(`check-layers: ${violations.length} violation(s):`)
    for (const v of violations) console.error(`  ${v}`)
    process.exit(1)
  }
  console.log(`check-layers: ${readWorkspace(root).length} packages follow the layer rules`)
}
