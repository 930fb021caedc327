import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { decodeContactRecord } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { memoryDirectory, sleep, until } from './helpers.ts'
import type { MemoryDirectory } from './helpers.ts'
import { RECOVERY_BOUND_MS, Side, Stream, tempDir } from './restart-harness.ts'

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url))
const FIXTURE = fileURLToPath(new URL('../fixtures/peer.ts', import.meta.url))

interface Child {
  process: ChildProcess
  nodeId: string
  readyAt: number
}

/** Start the fixture peer and publish its new signed record in `directory` (as a tracker would). */
async function startPeer (dataDir: string, directory: MemoryDirectory, children: ChildProcess[]): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@egtp/source', FIXTURE, dataDir], {
    cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'inherit']
  })
  children.push(child)
  const ready = await new Promise<{ nodeId: string, record: string }>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('the peer printed no ready line within 15 s')) }, 15_000)
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { event: string, nodeId: string, record: string }
      if (msg.event !== 'ready') return
      clearTimeout(timer)
      resolve(msg)
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`the peer exited (${code ?? signal}) before it was ready`)) })
  })
  await directory.announce(decodeContactRecord(Buffer.from(ready.record, 'base64')))
  return { process: child, nodeId: ready.nodeId, readyAt: performance.now() }
}

describe('restart recovery with a real child process', () => {
  test('the peer is killed with SIGKILL and restarted with its key file and data directory while we keep sending', async ({ onTestFinished }) => {
    const tmp = await tempDir()
    onTestFinished(tmp.remove)
    const peerDir = join(tmp.path, 'peer')
    await mkdir(peerDir, { recursive: true })
    const children: ChildProcess[] = []
    onTestFinished(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    })
    const dir = memoryDirectory()
    const a = new Side('A', join(tmp.path, 'a'), dir)
    onTestFinished(async () => { await a.stop() })
    await a.start()
    const first = await startPeer(peerDir, dir, children)
    const peer = new Side('P', peerDir, dir) // stands for the child: its ID, and its deliveries (read from its log)
    peer.nodeId = first.nodeId
    expect(await a.node!.query(peer.nodeId, 'q', { key: 'warm' })).toBe('warm')

    const stream = new Stream(a, peer, 10, 3000)
    await until(() => stream.deliveredSince(0) >= 40, 10_000, 'traffic before the kill')
    first.process.kill('SIGKILL')
    await once(first.process, 'exit')
    await sleep(200) // down for 200 ms: the scenario
    const second = await startPeer(peerDir, dir, children)
    expect(second.nodeId).toBe(first.nodeId)
    await until(() => stream.deliveredSince(second.readyAt) >= 100, RECOVERY_BOUND_MS + 10_000, 'traffic after the restart')
    await stream.finish()
    second.process.stdin!.end()
    await once(second.process, 'exit')

    const log = (await readFile(join(peerDir, 'delivered.log'), 'utf8')).split('\n').filter(l => l !== '')
    for (const key of log) peer.delivered.set(key, (peer.delivered.get(key) ?? 0) + 1)
    const c = stream.counts()
    const recovery = stream.recoveryMs(second.readyAt)
    console.log(`SIGKILL restart: recovered in ${Math.round(recovery)} ms`, c)
    expect(c.unsettled ?? 0).toBe(0)
    expect(peer.duplicates()).toBe(0)
    const delivered = stream.sent.filter(s => s.outcome === 'ok')
    const failed = stream.sent.filter(s => s.outcome !== 'ok')
    expect(delivered.length + failed.length).toBe(stream.sent.length)
    expect(delivered.length).toBeGreaterThan(0)
    expect(failed.every(s => ['ERR_UNREACHABLE', 'ERR_TIMEOUT', 'ERR_DELIVERY_UNCERTAIN'].includes(s.outcome!)), JSON.stringify(c)).toBe(true)
    for (const s of delivered) expect(peer.delivered.get(s.key), s.key).toBe(1)
    for (const s of failed) if (s.outcome === 'ERR_UNREACHABLE') expect(peer.delivered.get(s.key), s.key).toBeUndefined()
    expect(stream.sent.slice(-5).every(s => s.outcome === 'ok')).toBe(true)
    expect(recovery).toBeLessThan(RECOVERY_BOUND_MS)
  })
})
