import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect, test, vi } from 'vitest'
import { generateIdentity } from '@egtp/identity'
import { SessionManager } from '../src/index.ts'

test('the README example runs, and the README shows exactly this code', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    // README:start
    const alice = generateIdentity()
    const bob = generateIdentity()
    const a = new SessionManager({ identity: alice }) // pass a KeyValueStore as `store` to persist replay state
    const b = new SessionManager({ identity: bob })
    await a.start()
    await b.start()

    // A's first frame to B carries the handshake initiation, with the message as early data.
    const toBob = { nodeId: bob.nodeId, publicKey: bob.publicKey }
    const first = a.seal(toBob, new TextEncoder().encode('hello'))
    const opened = b.open(first.frame)
    console.log(new TextDecoder().decode(opened.plaintext), opened.peer?.nodeId === alice.nodeId) // hello true

    // Send every reply back over the path the frame came on: B's response, then A's confirmation.
    for (const reply of opened.replies) {
      for (const back of a.open(reply).replies) b.open(back)
    }

    // Established: plain transport frames, both ways.
    const answer = b.seal({ nodeId: alice.nodeId, publicKey: alice.publicKey }, new TextEncoder().encode('hi alice'))
    console.log(new TextDecoder().decode(a.open(answer.frame).plaintext)) // hi alice

    // The node owns time: call tick() about once a second and send what it returns.
    for (const { peer, frame } of a.tick()) console.log(`send ${frame.byteLength} B to ${peer.nodeId}`)
    a.close()
    b.close()
    // README:end
    expect(log.mock.calls).toEqual([['hello', true], ['hi alice']])
  } finally {
    log.mockRestore()
  }

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('    // README:end'))
  const code = block.split('\n').map(l => l.slice(4)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})
