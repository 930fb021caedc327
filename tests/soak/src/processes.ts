// Child processes of the soak, each started inside its namespace with `ip netns exec` (which execs: the
// child's pid is the program's pid, so kill -9 and /proc/<pid>/status reach it). Ready lines on stdout, the
// IPC channel for nodes, stderr kept in a bounded tail for the failure report.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

export const STDERR_TAIL_LINES = 40
export const READY_TIMEOUT_MS = 30_000

export interface CallResult { ok: boolean, value?: unknown, code?: string }

export class SoakProcess {
  readonly child: ChildProcess
  readonly label: string
  readonly stderrTail: string[] = []
  ready: Promise<Record<string, unknown>>
  exited = false
  /** Set before a kill -9 so the outcome of messages it had in flight is "abandoned", not "unreported". */
  killed = false
  readonly #pending = new Map<number, (r: CallResult) => void>()
  /** Every JSON line on stdout (after the ready line too: egtp-node prints the messages it receives). */
  readonly lineListeners: Array<(msg: Record<string, unknown>) => void> = []
  /** IPC messages that are not answers (e.g. `{op: 'record'}` when a node's contact record changes). */
  readonly messageListeners: Array<(msg: Record<string, unknown>) => void> = []
  #nextId = 1

  constructor (label: string, ns: string, argv: string[], env: Record<string, string> = {}) {
    this.label = label
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...env }
    })
    this.child.on('error', () => {})
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line)
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift()
    })
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${label}: no ready line within ${READY_TIMEOUT_MS} ms`)) }, READY_TIMEOUT_MS)
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        try {
          const msg = JSON.parse(line) as Record<string, unknown>
          if (msg.event === 'ready') { clearTimeout(timer); resolve(msg) }
          for (const l of this.lineListeners) l(msg)
        } catch { /* not a JSON line */ }
      })
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`${label} exited (${code ?? signal}) before it was ready:\n  ${this.stderrTail.slice(-8).join('\n  ')}`))
      })
    })
    this.ready.catch(() => {})
    this.child.on('message', (raw) => {
      const msg = raw as { op: string, id?: number } & CallResult
      if (msg.op === 'result' && msg.id !== undefined) {
        this.#pending.get(msg.id)?.(msg)
        this.#pending.delete(msg.id)
      } else {
        for (const l of this.messageListeners) l(msg as unknown as Record<string, unknown>)
      }
    })
    this.child.once('exit', () => {
      this.exited = true
      for (const resolve of this.#pending.values()) resolve({ ok: false, code: this.killed ? 'KILLED' : 'EXITED' })
      this.#pending.clear()
    })
  }

  get pid (): number { return this.child.pid ?? -1 }

  async call (cmd: Record<string, unknown>): Promise<CallResult> {
    if (this.exited || !this.child.connected) return { ok: false, code: this.killed ? 'KILLED' : 'EXITED' }
    const id = this.#nextId++
    return await new Promise((resolve) => {
      this.#pending.set(id, resolve)
      this.child.send({ ...cmd, id }, (err) => {
        if (err !== null && this.#pending.delete(id)) resolve({ ok: false, code: this.killed ? 'KILLED' : 'EXITED' })
      })
    })
  }

  /** Resident set size in bytes, from /proc (works for any program: nodes, relays, trackers). */
  rssBytes (): number | undefined {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))
      return m === null ? undefined : Number(m[1]) * 1024
    } catch {
      return undefined
    }
  }

  /** A command that needs no answer (lost, harmlessly, if the child is gone). */
  tell (cmd: Record<string, unknown>): void {
    if (this.exited || !this.child.connected) return
    this.child.send(cmd, () => { /* a child that just exited */ })
  }

  kill9 (): void {
    this.killed = true
    try { this.child.kill('SIGKILL') } catch { /* already exited */ }
  }

  /** SIGTERM (every soak program stops gracefully on it), then SIGKILL after `graceMs`. */
  async stop (graceMs = 10_000): Promise<void> {
    if (this.exited) return
    const exited = new Promise<void>(resolve => this.child.once('exit', () => { resolve() }))
    try { this.child.kill('SIGTERM') } catch { /* already exited */ }
    const timer = setTimeout(() => { this.kill9() }, graceMs)
    await exited
    clearTimeout(timer)
  }
}
