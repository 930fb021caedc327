// Shared vitest settings: tests run on package sources through the `@egtp/source` export condition,
// so `pnpm test` needs no build of the package under test.
import { defineConfig } from 'vitest/config'

const conditions = ['@egtp/source', 'import', 'module', 'node', 'default']

/** @param {import('vitest/config').ViteUserConfig} [overrides] */
export function egtpVitestConfig (overrides = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@egtp/source'] } },
    ...overrides,
    test: {
      include: ['test/**/*.test.ts'],
      // The counts of every package's run, for the summary `pnpm test` prints at its end (test-summary.js).
      reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
      testTimeout: 20_000,
      hookTimeout: 20_000,
      pool: 'forks',
      ...(overrides.test ?? {})
    }
  })
}
