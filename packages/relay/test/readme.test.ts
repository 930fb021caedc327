import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@egtp/identity'
import { tcp } from '@egtp/tcp'
import { expect, test } from 'vitest'
import { relayClient } from '../src/client/index.ts'
import { relayServer } from '../src/server/index.ts'

test('the README example runs, and the README shows exactly this code', async () => {
  const stops: Array<() => Promise<void>> = []
  let got: unknown
  try {
    // README:start
    // A relay on 127.0.0.1, port 0 (a free one); give `dataDir` to keep its queues across restarts.
    const server = relayServer()({ transport: tcp()(), identity: generateIdentity() })
    await server.start()

    // B registers with the relay: reachable through it without a listening socket.
    const bIdentity = generateIdentity()
    const b = relayClient({ relays: [server.endpoint()] })({ transport: tcp()(), identity: bIdentity })
    b.addEventListener('frame', ({ detail }) => {
      // detail.path.authenticatedSender is the sender's node ID, proven to the relay: answer through it.
      void detail.path.reply(Uint8Array.of(...detail.frame, 0xff)).catch(() => {})
    })
    const registered = new Promise(resolve => { b.addEventListener('relay:ready', resolve, { once: true }) })
    await b.start()
    await registered
    console.log(b.localEndpoints()) // [{ kind: 'relay', relay: <relay node ID>, host, port }]: goes in B's contact record

    // A only sends (no registration); the reply comes back on the same relay connection.
    const a = relayClient({ register: false })({ transport: tcp()(), identity: generateIdentity() })
    const reply = new Promise(resolve => {
      a.addEventListener('frame', ({ detail }) => { resolve(detail.frame) }, { once: true })
    })
    await a.start()
    await a.send(bIdentity.nodeId, server.endpoint(), Uint8Array.of(1, 2, 3)) // resolves once the relay has it
    console.log(await reply) // Uint8Array [1, 2, 3, 255]
    console.log(server.stats().accepted) // 2: the message and its reply

    await a.stop()
    await b.stop()
    await server.stop()
    // README:end
    got = await reply
    stops.push(() => a.stop(), () => b.stop(), () => server.stop())
  } finally {
    for (const stop of stops) await stop()
  }
  expect(got).toEqual(Uint8Array.of(1, 2, 3, 255))

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('    // README:end'))
  const code = block.split('\n').map(l => l.slice(4)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})
