import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@egtp/identity'
import { createNode } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import { expect, test } from 'vitest'
import { trackers } from '../src/client/index.ts'
import { metatrackerServer } from '../src/server/index.ts'

test('the README example runs, and the README shows exactly this code', async () => {
  const logged: unknown[] = []
  const console = { log: (v: unknown) => { logged.push(v) } }
  // README:start
  // Every node listens on 127.0.0.1, port 0 (a free one).
  const transport = () => tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()
  // A tracker is an EGTP node offering the `metatracker` service, with the server on it.
  const trackerNode = await createNode({ commstrats: [transport()], services: ['metatracker'] })
  const tracker = metatrackerServer()({ node: trackerNode })
  await trackerNode.start()
  await tracker.start()
  const trackerRecord = trackerNode.contactRecord() // signed; clients verify it
  if (trackerRecord === undefined) throw new Error('a started node has its contact record')

  // Nodes that look peers up, discover relays and publish their own record through the tracker.
  const trackedNode = async () => {
    const identity = generateIdentity()
    const mt = trackers({ trackers: [trackerRecord], identity })
    const node = await createNode({ identity, commstrats: [transport()], lookup: mt, discovery: mt, announcer: mt })
    mt.attach(node)
    return { node, mt }
  }
  const b = await trackedNode()
  b.node.handle('echo', (payload) => payload)
  await b.node.start() // publishes B's signed record
  const a = await trackedNode()
  await a.node.start()
  console.log(await a.node.query(b.node.nodeId, 'echo', 'hi')) // 'hi': A knew only B's node ID

  await a.mt.stop() // a signed goodbye withdraws A's record
  await b.mt.stop()
  await Promise.all([a.node.stop(), b.node.stop()])
  await tracker.stop()
  await trackerNode.stop()
  // README:end
  expect(logged).toEqual(['hi'])

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('  // README:end'))
  const code = block.split('\n').map(l => l.slice(2)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})
