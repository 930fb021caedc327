// What every demo run shares: where the built apps are, its work directory, and the children it started
// (all killed when the demo exits, whatever happened).
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
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

  track<T extends ChildProcess> (child: T): T {
    this.children.push(child)
    return child
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
