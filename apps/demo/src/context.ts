// What every demo run shares: where the built apps are, its work directory, and the children it started
// (all killed when the demo exits, whatever happened).
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { alive } from './processes.ts'

const here = dirname(fileURLToPath(import.meta.url))

export const APPS = {
  node: join(here, '../../node/dist/main.js'),
  relay: join(here, '../../relay/dist/main.js'),
  metatracker: join(here, '../../metatracker/dist/main.js'),
  bootpage: join(here, '../../bootpage/dist/main.js'),
  /** Preloaded into a child to skew its wall clock (the clock-skew scenario). */
  skewedClock: join(here, 'skewed-clock.js')
} as const

/** Lines of each child's stderr kept for the failure report. */
export const STDERR_LINES_KEPT = 30

export class DemoContext {
  readonly work = mkdtempSync(join(tmpdir(), 'egtp-demo-'))
  readonly children: ChildProcess[] = []
  /** Children print errors only unless DEBUG asks for more. */
  readonly childEnv: NodeJS.ProcessEnv = { ...process.env, DEBUG: process.env.DEBUG ?? '' }
  readonly #cleanups: Array<() => void> = []
  #cleaned = false

  /** Run `fn` at cleanup (servers the demo itself runs). */
  onCleanup (fn: () => void): void {
    this.#cleanups.push(fn)
  }

  /** Each child's last stderr lines (when its stderr is piped), by name. */
  readonly stderr = new Map<string, string[]>()

  /**
   * Kill `child` at cleanup. A piped stderr is shown as it comes when DEBUG is set, and otherwise kept (the
   * last lines) for the report of a failed run, so the timeline stays readable.
   */
  track<T extends ChildProcess> (child: T, name?: string): T {
    this.children.push(child)
    if (child.stderr !== null && name !== undefined) {
      const kept: string[] = []
      this.stderr.set(name, kept)
      const live = (process.env.DEBUG ?? '') !== ''
      createInterface({ input: child.stderr }).on('line', (line) => {
        if (live) process.stderr.write(`[${name}] ${line}\n`)
        kept.push(line)
        if (kept.length > STDERR_LINES_KEPT) kept.shift()
      })
    }
    return child
  }

  /** The kept stderr of every child, for a failed run. */
  stderrReport (): string {
    const parts: string[] = []
    for (const [name, lines] of this.stderr) if (lines.length > 0) parts.push(`── ${name} stderr (last ${lines.length} lines):\n${lines.join('\n')}`)
    return parts.join('\n')
  }

  /** Kill what is still running and remove the work directory (once). */
  cleanup (): void {
    if (this.#cleaned) return
    this.#cleaned = true
    for (const c of this.children) if (alive(c)) c.kill('SIGKILL')
    for (const fn of this.#cleanups) fn()
    rmSync(this.work, { recursive: true, force: true })
  }
}
