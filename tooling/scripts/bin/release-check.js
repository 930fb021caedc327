#!/usr/bin/env node
// Before `changeset publish`: every public package of the workspace (packages/*, apps/*) passes publint
// (strict) and, when it ships types, attw with the ESM-only profile. Run from the workspace root, after a build.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readWorkspace } from './check-layers.js'

const root = process.argv[2] ?? process.cwd()
// The CLIs this package depends on (their package.json files are not exported).
const publint = fileURLToPath(new URL('../node_modules/publint/src/cli.js', import.meta.url))
const attw = fileURLToPath(new URL('../node_modules/@arethetypeswrong/cli/dist/index.js', import.meta.url))
const publics = readWorkspace(root).filter(p => p.json.private !== true && /\/(packages|apps)\/[^/]+$/.test(p.dir))
let failed = 0
for (const p of publics) {
  const run = (what, file, args) => {
    try {
      execFileSync(process.execPath, [file, ...args], { cwd: p.dir, stdio: 'pipe' })
    } catch (err) {
      failed++
      console.error(`release-check: ${p.json.name}: ${what} failed\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`)
    }
  }
  run('publint', publint, ['--strict'])
  if (p.json.types !== undefined) run('attw', attw, ['--pack', '.', '--profile', 'esm-only'])
}
if (failed > 0) process.exit(1)
console.log(`release-check: ${publics.map(p => p.json.name).join(', ')} pass publint${publics.some(p => p.json.types) ? ' and attw (esm-only)' : ''}`)
