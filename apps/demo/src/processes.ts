// Child processes of the demo: the ready line on stdout, and the IPC control channel of a node.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** Resolves with the first `{"event":"ready",…}` line a child prints on stdout; other lines go to `onLine`. */
export async function readReadyLine (child: ChildProcess, timeoutMs: number, onLine?: (line: string) => void): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ready line within ${timeoutMs} ms`)) }, timeoutMs)
    let ready = false
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      if (ready) { onLine?.(line); return }
      try {
        const msg = JSON.parse(line) as Record<string, unknown>
        if (msg.event === 'ready') {
          ready = true
          clearTimeout(timer)
          resolve(msg)
          return
        }
      } catch {
        // not a JSON line
      }
      onLine?.(line)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code ?? signal}) before it was ready`))
    })
  })
}

export const alive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null

/** Resolves when the child has exited (at once if it already has). */
export async function exited (child: ChildProcess): Promise<void> {
  if (!alive(child)) return
  await new Promise<void>(resolve => child.once('exit', () => { resolve() }))
}

/** Run a command-line tool to its end; rejects with its stderr unless it exits 0. */
export async function runTool (main: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  if (code !== 0) throw new Error(`${args[0] ?? main} exited ${String(code)}: ${err.trim()}`)
  return out
}

export interface QueryResult { ok: boolean, value?: unknown, code?: string, message?: string }
/** A node event forwarded over IPC (apps/node/src/control.ts `events`); `at` is the child's epoch ms. */
export interface NodeEvent { name: string, detail: Record<string, unknown>, at: number }

/** A node app started with `fork`, driven through its IPC channel (apps/node/src/control.ts). */
export class NodeProcess {
  readonly child: ChildProcess
  nodeId = ''
  record = ''
  #nextId = 1
  readonly #pending = new Map<number, (r: QueryResult) => void>()
  readonly #recordWaiters: Array<{ test: (r: string) => boolean, resolve: () => void }> = []
  readonly #receivedListeners: Array<(payload: unknown) => void> = []
  readonly #eventListeners: Array<(e: NodeEvent) => void> = []

  constructor (child: ChildProcess) {
    this.child = child
    child.on('message', (raw) => {
      const msg = raw as { op: string, id?: number, record?: string, payload?: unknown } & QueryResult & NodeEvent
      if (msg.op === 'result' && msg.id !== undefined) {
        this.#pending.get(msg.id)?.(msg)
        this.#pending.delete(msg.id)
      } else if (msg.op === 'record' && msg.record !== undefined) {
        this.#setRecord(msg.record)
      } else if (msg.op === 'received') {
        for (const l of this.#receivedListeners) l(msg.payload)
      } else if (msg.op === 'event') {
        for (const l of this.#eventListeners) l({ name: msg.name, detail: msg.detail, at: msg.at })
      }
    })
    child.once('exit', () => {
      for (const resolve of this.#pending.values()) resolve({ ok: false, code: 'CHILD_EXITED' })
      this.#pending.clear()
    })
  }

  #setRecord (record: string): void {
    this.record = record
    for (let i = this.#recordWaiters.length - 1; i >= 0; i--) {
      const w = this.#recordWaiters[i]!
      if (w.test(record)) {
        this.#recordWaiters.splice(i, 1)
        w.resolve()
      }
    }
  }

  async ready (timeoutMs: number, onLine?: (line: string) => void): Promise<Record<string, unknown>> {
    const msg = await readReadyLine(this.child, timeoutMs, onLine)
    this.nodeId = msg.nodeId as string
    this.#setRecord(msg.record as string)
    return msg
  }

  async waitForRecord (test: (record: string) => boolean, timeoutMs: number): Promise<void> {
    if (test(this.record)) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no matching contact record within ${timeoutMs} ms`)) }, timeoutMs)
      this.#recordWaiters.push({ test, resolve: () => { clearTimeout(timer); resolve() } })
    })
  }

  onReceived (listener: (payload: unknown) => void): void {
    this.#receivedListeners.push(listener)
  }

  /** Subscribe to the node's events (session, drops, failures, relay links); resolves once subscribed. */
  async onEvent (listener: (e: NodeEvent) => void): Promise<void> {
    this.#eventListeners.push(listener)
    if (this.#eventListeners.length === 1) {
      const r = await this.#call({ op: 'events' })
      if (!r.ok) throw new Error(`events subscription refused: ${r.code ?? '?'}`)
    }
  }

  addContact (record: string): void {
    this.child.send({ op: 'addContact', record })
  }

  async query (peer: string, type: string, payload: unknown, timeoutMs: number): Promise<QueryResult> {
    return await this.#call({ op: 'query', peer, type, payload, timeoutMs })
  }

  async stats (): Promise<Record<string, unknown>> {
    const r = await this.#call({ op: 'stats' })
    return (r.ok ? r.value : {}) as Record<string, unknown>
  }

  async status (): Promise<Record<string, unknown>> {
    const r = await this.#call({ op: 'status' })
    return (r.ok ? r.value : {}) as Record<string, unknown>
  }

  async #call (cmd: Record<string, unknown>): Promise<QueryResult> {
    if (!this.child.connected) return { ok: false, code: 'CHILD_EXITED' }
    const id = this.#nextId++
    return await new Promise((resolve) => {
      this.#pending.set(id, resolve)
      this.child.send({ ...cmd, id })
    })
  }

  async stop (): Promise<void> {
    if (!alive(this.child)) return
    const done = exited(this.child)
    if (this.child.connected) this.child.send({ op: 'stop' })
    else this.child.kill('SIGTERM')
    await done
  }
}
