// The bench process drives its children (servers, idle peers, the relay) over fork()'s IPC channel: each
// child sends { ready } once, then answers requests { id, op, ... } with { id, reply } or { id, error }.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

interface Reply { id?: number, reply?: unknown, error?: string, ready?: unknown }

const STOP_TIMEOUT_MS = 10_000

export class Child {
  readonly ready: unknown
  readonly #child: ChildProcess
  #nextId = 0
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()

  private constructor (child: ChildProcess, ready: unknown) {
    this.#child = child
    this.ready = ready
    child.on('message', (msg: Reply) => {
      if (msg.id === undefined) return
      const waiter = this.#pending.get(msg.id)
      this.#pending.delete(msg.id)
      if (msg.error !== undefined) waiter?.reject(new Error(msg.error))
      else waiter?.resolve(msg.reply)
    })
    child.on('exit', (code) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`child exited (${String(code)})`))
      this.#pending.clear()
    })
  }

  /** Fork `script` (a file of this package's dist) and wait for its `ready` message. */
  static async start (script: string, args: string[], execArgv: string[] = []): Promise<Child> {
    execArgv = [...execArgv, ...childNodeArgs()]
    const child = fork(new URL(script, import.meta.url), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const kill = (): void => { child.kill('SIGKILL') }
    process.once('exit', kill) // a bench that throws leaves no child behind
    child.once('exit', () => { process.removeListener('exit', kill) })
    const ready = await new Promise<unknown>((resolve, reject) => {
      child.once('message', (msg: Reply) => {
        if (msg.error !== undefined) reject(new Error(`${script}: ${msg.error}`))
        else resolve(msg.ready)
      })
      child.once('exit', (code) => { reject(new Error(`${script} exited (${String(code)}) before it was ready`)) })
    })
    return new Child(child, ready)
  }

  async ask<T> (op: string, extra: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++
    return await new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#child.send({ id, op, ...extra })
    })
  }

  async stop (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    const exited = new Promise(resolve => this.#child.once('exit', resolve))
    const timer = setTimeout(() => { this.#child.kill('SIGKILL') }, STOP_TIMEOUT_MS)
    this.#child.send({ op: 'stop' })
    await exited
    clearTimeout(timer)
  }
}

type Handler = (msg: Record<string, unknown>) => Promise<unknown>

/**
 * Extra Node flags for every child, from EGTP_BENCH_CHILD_NODE_ARGS (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the servers: NODE_OPTIONS refuses --cpu-prof.
 */
function childNodeArgs (): string[] {
  return (process.env.EGTP_BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(arg => arg !== '')
}

/** Child side: announce `ready`, then answer requests with `handlers[op]`; `stop` runs `onStop` and exits. */
export function serveParent (ready: unknown, handlers: Record<string, Handler>, onStop: () => Promise<void>): void {
  const send = (msg: Reply): void => { process.send!(msg) }
  process.on('message', (msg: Record<string, unknown> & { id?: number, op: string }) => {
    if (msg.op === 'stop') {
      const timer = setTimeout(() => process.exit(0), STOP_TIMEOUT_MS / 2)
      void onStop().catch(() => {}).then(() => { clearTimeout(timer); process.exit(0) })
      return
    }
    const handler = handlers[msg.op]
    if (handler === undefined) {
      send({ id: msg.id!, error: `unknown op ${msg.op}` })
      return
    }
    handler(msg).then(reply => { send({ id: msg.id!, reply: reply ?? null }) }, (err: Error) => { send({ id: msg.id!, error: err.message }) })
  })
  process.on('disconnect', () => { process.exit(0) })
  send({ ready })
}

/** Child side: report a startup failure to the parent and exit. */
export function failStartup (err: unknown): never {
  process.send?.({ error: err instanceof Error ? err.stack ?? err.message : String(err) })
  process.exit(1)
}
