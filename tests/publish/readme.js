// What a stranger reads in a package's README: the install command and the usage example.
import { builtinModules } from 'node:module'

const BUILTINS = new Set(builtinModules)

/** The packages the `## Install` section's first `npm install …` line names. */
export function installLine (readme) {
  const section = readme.split(/^## /m).find(s => s.startsWith('Install'))
  const line = section?.split('\n').find(l => /^npm (install|i) /.test(l.trim()))
  if (line === undefined) return undefined
  return line.split('#')[0].trim().split(/\s+/).slice(2).filter(a => !a.startsWith('-'))
}

/** The first ```js (or ```ts) block of the `## Usage` section: the example, to run verbatim as JavaScript. */
export function usageExample (readme) {
  const section = readme.split(/^## /m).find(s => s.startsWith('Usage'))
  const m = section === undefined ? null : /^```(js|javascript|ts|typescript)\n([\s\S]*?)^```/m.exec(section)
  return m === null ? undefined : { lang: m[1], code: m[2] }
}

/** Bare module specifiers an example imports (`import … from 'x'`, `import 'x'`, `import('x')`). */
export function importsOf (code) {
  const specs = new Set()
  for (const m of code.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/gm)) specs.add(m[1] ?? m[2])
  return [...specs]
}

/** The package a specifier belongs to (`@s/p/sub` → `@s/p`, `p/sub` → `p`); undefined for builtins and relative paths. */
export function packageOf (spec) {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0])) return undefined
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Links out of the package directory (`](../../docs/x)`): neither the tarball nor npmjs.com has their target. */
export function linksOutOfPackage (readme) {
  return [...readme.matchAll(/\]\((\.\.\/[^)\s]*)\)/g)].map(m => m[1])
}
