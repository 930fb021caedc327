// Child processes of the demo: the ready line on stdout, and the IPC control channel of a node.
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** Resolves with the first `{"event":"ready",…}` line a child prints on stdout. */
export async function readReadyLine (child: ChildProcess, timeoutMs: number): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ready line within ${timeoutMs} ms`)) }, timeoutMs)
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as Record<string, unknown>
        if (msg.event === 'ready') {
          clearTimeout(timer)
          resolve(msg)
        }
      } catch {
        // not a JSON line: ignore
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code ?? signal}) before it was ready`))
    })
  })
}

export interface QueryResult { ok: boolean, value?: unknown, code?: string, message?: string }

/** A node app started with `fork`, driven through its IPC channel (apps/node/src/control.ts). */
export class NodeProcess {
  readonly child: ChildProcess
  nodeId = ''
  record = ''
  #nextId = 1
  readonly #pending = new Map<number, (r: QueryResult) => void>()
  readonly #recordWaiters: Array<{ test: (r: string) => boolean, resolve: () => void }> = []
  readonly #receivedListeners: Array<(payload: unknown) => void> = []

  constructor (child: ChildProcess) {
    this.child = child
    child.on('message', (raw) => {
      const msg = raw as { op: string, id?: number, record?: string, payload?: unknown } & QueryResult
      if (msg.op === 'result' && msg.id !== undefined) {
        this.#pending.get(msg.id)?.(msg)
        this.#pending.delete(msg.id)
      } else if (msg.op === 'record' && msg.record !== undefined) {
        this.#setRecord(msg.record)
      } else if (msg.op === 'received') {
        for (const l of this.#receivedListeners) l(msg.payload)
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

  async ready (timeoutMs: number): Promise<void> {
    const msg = await readReadyLine(this.child, timeoutMs)
    this.nodeId = msg.nodeId as string
    this.#setRecord(msg.record as string)
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

  addContact (record: string): void {
    this.child.send({ op: 'addContact', record })
  }

  async query (peer: string, type: string, payload: unknown, timeoutMs: number): Promise<QueryResult> {
    return await this.#call({ op: 'query', peer, type, payload, timeoutMs })
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
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>(resolve => this.child.once('exit', () => { resolve() }))
    this.child.send({ op: 'stop' })
    await exited
  }
}
