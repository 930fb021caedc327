// The built egtp-node (and egtp-relay) as real processes on 127.0.0.1.
import { fork, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const NODE_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
export const RELAY_MAIN = fileURLToPath(new URL('../../relay/dist/main.js', import.meta.url))

export type Cleanup = (fn: () => void | Promise<void>) => void

export async function tempDir (cleanup: Cleanup): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-app-node-'))
  cleanup(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

export interface Running {
  child: ChildProcess
  ready: Record<string, unknown> & { nodeId: string, record: string }
  /** stdout lines after the ready line, as they arrive */
  lines: string[]
  stderr: () => string
}

/** Start a process that prints a JSON ready line; killed after the test. */
export async function start (main: string, args: string[], cleanup: Cleanup, ipc = false): Promise<Running> {
  const env = { ...process.env, DEBUG: '' }
  const child = ipc
    ? fork(main, args, { stdio: ['pipe', 'pipe', 'pipe', 'ipc'], env, execArgv: [] })
    : spawn(process.execPath, [main, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
  cleanup(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let err = ''
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const lines: string[] = []
  const ready = await new Promise<Running['ready']>((resolve, reject) => {
    let got = false
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (got) { lines.push(line); return }
      try {
        const msg = JSON.parse(line) as Running['ready']
        if (msg.event === 'ready') { got = true; resolve(msg) }
      } catch { // not a JSON line: ignore
      }
    })
    child.once('exit', (code) => { reject(new Error(`exited ${String(code)} before ready: ${err}`)) })
  })
  return { child, ready, lines, stderr: () => err }
}

/** Run a command to its end: status, stdout, stderr. */
export async function exec (args: string[], input?: string, main = NODE_MAIN): Promise<{ code: number | null, out: string, err: string }> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '' } })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  child.stdin.end(input ?? '')
  const [code] = await once(child, 'exit') as [number | null]
  return { code, out, err }
}

export async function until (test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs
  while (!(await test())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export const alive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null
