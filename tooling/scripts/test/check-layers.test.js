import { describe, expect, test } from 'vitest'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { checkLayers } from '../bin/check-layers.js'

const here = fileURLToPath(new URL('.', import.meta.url))

describe('check-layers', () => {
  test('the workspace follows the layer rules', () => {
    expect(checkLayers(resolve(here, '../../..'))).toEqual([])
  })

  test('a bad fixture is caught, naming both files', () => {
    const violations = checkLayers(resolve(here, 'fixtures/bad'))
    expect(violations).toContainEqual(expect.stringMatching(/packages\/tcp\/src\/index\.ts imports @egtp\/session \(packages\/session\/src\/index\.ts\): @egtp\/tcp may import only/))
    expect(violations).toContainEqual(expect.stringMatching(/packages\/tcp\/package\.json declares @egtp\/session/))
    expect(violations).toContainEqual(expect.stringMatching(/packages\/tcp\/src\/index\.ts imports msgpackr, which packages\/tcp\/package\.json does not declare/))
    expect(violations).toContainEqual(expect.stringMatching(/packages\/session\/src\/index\.ts imports node:net: @egtp\/session must not know sockets/))
    expect(violations).toContainEqual(expect.stringMatching(/packages\/session\/package\.json declares @noble\/ciphers, which nothing in packages\/session\/src imports/))
  })

  test('a private package under tests/ may import its devDependencies from src; any other package may not', () => {
    const violations = checkLayers(resolve(here, 'fixtures/bad'))
    expect(violations.filter(v => v.includes('tests/private-bench'))).toEqual([])
    expect(violations).toContainEqual(expect.stringMatching(/tests\/public-suite\/src\/index\.ts imports peer-lib, which tests\/public-suite\/package\.json does not declare in dependencies/))
  })
})
