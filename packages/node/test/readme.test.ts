import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect, test, vi } from 'vitest'
import { createNode, memoryDirectory } from '../src/index.ts'
import { tcp } from '@egtp/tcp'

test('the README example runs, and the README shows exactly this code', async () => {
  const printed: unknown[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { printed.push(...args) })
  const stops: Array<() => Promise<void>> = []
  try {
    // README:start
    const directory = memoryDirectory()
    const transport = () => tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()
    const a = await createNode({ commstrats: [transport()], lookup: directory, announcer: directory })
    const b = await createNode({ commstrats: [transport()], lookup: directory, announcer: directory })
    b.handle('echo', (payload) => payload)
    await Promise.all([a.start(), b.start()])
    console.log(await a.query(b.nodeId, 'echo', { hello: 'world' }))
    await Promise.all([a.stop(), b.stop()])
    // README:end
    stops.push(() => a.stop(), () => b.stop())
  } finally {
    for (const stop of stops) await stop()
    log.mockRestore()
  }
  expect(printed).toEqual([{ hello: 'world' }])

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('    // README:end'))
  const code = block.split('\n').map(l => l.slice(4)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
  // The example in src/index.ts (@packageDocumentation) is the same code.
  const index = await readFile(fileURLToPath(new URL('../src/index.ts', import.meta.url)), 'utf8')
  const doc = index.split('\n').map(l => l.replace(/^ \* ?/, '')).join('\n')
  expect(doc).toContain(code)
})
