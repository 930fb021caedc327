// A private redis-server for tests and benches (the metatracker's Redis store): a free loopback port, a
// temporary directory, nothing saved. One copy for the package's tests, its bench and the app's tests.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Whether `redis-server` can run here. Under CI=true a missing binary is a failure, not a skip. */
export function redisAvailable () {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
  if (!found) {
    if (process.env.CI === 'true') throw new Error('redis-server is not installed, and CI=true: the Redis tests must run in CI')
    // eslint-disable-next-line no-console -- the visible notice of a skip is the point
    console.warn('NOTICE: redis-server is not installed: the Redis store tests are SKIPPED (install redis-server to run them)')
  }
  return found
}

async function freePort () {
  const server = createServer()
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  await new Promise(resolve => server.close(resolve))
  return port
}

/** Start one; `stop()` kills it and removes its directory. */
export async function startRedis () {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-redis-'))
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`redis-server did not start: ${out}`)) }, 10_000)
    child.stdout.on('data', (chunk) => {
      out += chunk.toString()
      if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`redis-server exited with ${String(code)}: ${out}`)) })
  })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await new Promise(resolve => child.once('exit', resolve))
    }
    await rm(dir, { recursive: true, force: true })
  }
  return { url: `redis://127.0.0.1:${port}`, port, child, stop }
}
