import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { memoryNetwork } from '../src/index.ts'

test('the README example runs, and the README shows exactly this code', async () => {
  const logged: unknown[] = []
  const console = { log: (...args: unknown[]) => { logged.push(...args) } }
  // README:start
  const net = memoryNetwork({ latencyMs: 5, loss: 0.2, seed: 2004 }) // seeded: the same frames are lost every run
  const a = net.commstrat()
  const b = net.commstrat()
  await a.start()
  await b.start()
  b.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame).catch(() => {}) }) // echo

  let echoed = 0
  a.addEventListener('frame', () => { echoed++ })
  for (let i = 0; i < 100; i++) await a.send('node-b', b.endpoint, Uint8Array.of(i))
  await net.settled() // every frame arrived or was lost, echoes included
  console.log(echoed, net.stats()) // about 64 of 100 echoes: 20 % lost each way

  net.partition([a]) // cut a off: frames across are dropped, new connections fail with ERR_UNREACHABLE
  net.heal()
  await a.stop()
  await b.stop()
  // README:end
  expect(echoed).toBeGreaterThan(40)
  expect(echoed).toBeLessThan(90)
  expect(logged[0]).toBe(echoed)
  const stats = logged[1] as ReturnType<typeof net.stats>
  expect(stats.inFlight).toBe(0)
  expect(stats.sent).toBe(stats.delivered + stats.lost) // every frame accounted for
  expect(stats.delivered - echoed).toBe(stats.sent - 100) // each frame that reached b was echoed

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README:start') + 16, self.indexOf('  // README:end'))
  const code = block.split('\n').map(l => l.slice(2)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})

test('the README transport example runs, and the README shows exactly this code', async () => {
  const logged: unknown[] = []
  const console = { log: (...args: unknown[]) => { logged.push(args) } }
  // README-transport:start
  const net = memoryNetwork({ latencyMs: 5, seed: 7 })
  const server = net.transport()
  const client = net.transport()
  const listener = await server.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }) // a name only: no socket
  listener.addEventListener('connection', ({ detail: conn }) => {
    conn.addEventListener('message', ({ detail }) => { void conn.send(detail).catch(() => {}) }) // echo
  })
  const conn = await client.dial(listener.address()) // { kind: 'tcp', host: '<n>.memory.invalid', port }
  conn.addEventListener('message', ({ detail }) => { console.log('echoed', detail) })

  net.partition([client], [server]) // new dials fail with ERR_UNREACHABLE; open connections hold their frames
  await conn.send(Uint8Array.of(1, 2, 3))
  net.heal() // held frames go on, in order: a stream loses nothing
  await net.settled()
  await client.close()
  await server.close()
  // README-transport:end
  expect(logged).toEqual([['echoed', Uint8Array.of(1, 2, 3)]])
  expect(listener.address().host).toBe(net.host)

  const self = await readFile(fileURLToPath(import.meta.url), 'utf8')
  const block = self.slice(self.indexOf('// README-transport:start') + 26, self.indexOf('  // README-transport:end'))
  const code = block.split('\n').map(l => l.slice(2)).join('\n').trim()
  const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
  expect(readme).toContain(code)
})
