import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { tcp } from '../src/index.ts'

test('the README example runs, and the README shows exactly this code', async () => {
  const stops: Array<() => Promise<void>> = []
  try {
    // README:start
    const server = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()
    const client = tcp({ idleTimeoutMs: 60_000 })()
    await server.start()
    await client.start()

    // Frames are opaque bytes; a reply goes back on the connection the frame came on.
    server.addEventListener('frame', ({ detail }) => {
      void detail.path.reply(Uint8Array.of(...detail.frame, 0xff)).catch(() => {})
    })
    const reply = new Promise(resolve => {
      client.addEventListener('frame', ({ detail }) => { resolve(detail.frame) }, { once: true })
    })

    for (const endpoint of server.localEndpoints()) { // one here: { kind: 'tcp', host: '127.0.0.1', port: <bound> }
      await client.send('server-node-id', endpoint, Uint8Array.of(1, 2, 3), { expectReply: true })
    }
    console.log(await reply) // Uint8Array [1, 2, 3, 255]

    await client.stop()
    await server.stop()
    // README:end
    stops.push(() => client.stop(), () => server.stop())
    expect(await reply).toEqual(Uint8Array.of(1, 2, 3, 255))
  } finally {
    for (const stop of stops) await stop()
  }

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('    // README:end'))
  const code = block.split('\n').map(l => l.slice(4)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})
