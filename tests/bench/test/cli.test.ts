// The harness end to end: the built CLI runs one tiny scenario per implementation (EGTP twice: from this
// workspace and, as the before/after mode does, loaded by path from a checkout — this one), prints its table
// and writes its JSON. No figure is judged: only that every implementation produced one.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, test } from 'vitest'

const run = promisify(execFile)
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const workspaceRoot = fileURLToPath(new URL('../../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'egtp-bench-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

interface Report { values: Record<string, Record<string, Array<number | null>>>, errors: string[] }

describe('pnpm bench (the suite)', () => {
  test('--help prints the usage and exits 0', async () => {
    const { stdout } = await run(process.execPath, [cli, '--help'])
    expect(stdout).toContain('Usage:')
    expect(stdout).toContain('--compare-egtp DIR')
  })

  test('an unknown --only name is refused with exit code 2', async () => {
    const err = await run(process.execPath, [cli, '--only', 'nonsense']).then(() => undefined, (e: { code: number, stderr: string }) => e)
    expect(err?.code).toBe(2)
    expect(err?.stderr).toContain('no scenario or implementation named nonsense')
  })

  test('--quick --only echo,aead measures every implementation and prints the table', async () => {
    const json = join(dir, 'figures.json')
    const { stdout } = await run(process.execPath, [cli, '--quick', '--only', 'echo,aead', '--compare-egtp', workspaceRoot, '--json', json], { timeout: 60_000 })
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report
    expect(report.errors).toEqual([])
    for (const impl of ['raw', 'libp2p', 'hyperswarm', 'egtp', 'egtp@base']) {
      expect(report.values[impl]?.echo1_rtps?.[0], impl).toBeGreaterThan(0)
    }
    for (const impl of ['aead-node', 'aead-sodium']) expect(report.values[impl]?.aead64k_mbps?.[0], impl).toBeGreaterThan(0)
    expect(stdout).toMatch(/\| echo 64 B, 1 in flight \| rt\/s ↑ \|/)
    expect(stdout).toContain('EGTP/EGTP@base')
    expect(stdout).toContain('sodium-native/node:crypto')
  }, 60_000)

  test('--only idle reports, beside the peers set up per second, the CPU each side spent per peer', async () => {
    const json = join(dir, 'idle.json')
    const { stdout } = await run(process.execPath, [cli, '--quick', '--only', 'idle', '--only', 'raw,egtp', '--idle-peers', '40', '--json', json], { timeout: 60_000 })
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report
    expect(report.errors).toEqual([])
    for (const impl of ['raw', 'egtp']) {
      expect(report.values[impl]?.idle_setup_per_s?.[0], impl).toBeGreaterThan(0)
      expect(report.values[impl]?.idle_setup_client_cpu_ms?.[0], impl).toBeGreaterThan(0)
      expect(report.values[impl]?.idle_setup_server_cpu_ms?.[0], impl).toBeGreaterThan(0)
    }
    expect(stdout).toMatch(/\| idle peers: connecting side CPU per peer set up \| ms ↓ \|/)
    expect(stdout).toMatch(/\| idle peers: server CPU per peer set up \| ms ↓ \|/)
  }, 60_000)
})
