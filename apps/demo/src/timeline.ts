// The demo's readable timeline: seconds since start, one line per thing that happened, and the checks that
// decide the exit status, each under the step it belongs to (so a failure names its step).

export class Timeline {
  readonly started = performance.now()
  /** Checks that failed, as "step: what". */
  readonly failures: string[] = []
  step = ''
  readonly #out: (text: string) => void

  constructor (out: (text: string) => void = (text) => { process.stdout.write(text) }) {
    this.#out = out
  }

  /** Seconds since the start, for a `performance.now()` instant (default: now). */
  t (at = performance.now()): string {
    return `${((at - this.started) / 1000).toFixed(2).padStart(6)}s`
  }

  say (text: string, at?: number): void {
    this.#out(`${this.t(at)}  ${text}\n`)
  }

  /** A detail under the current line, indented. */
  note (text: string, at?: number): void {
    this.#out(`${this.t(at)}        ${text}\n`)
  }

  /** Begin a step: a heading line; later checks belong to it. */
  begin (step: string, what: string): void {
    this.step = step
    this.#out(`${this.t()}  ── ${step}: ${what}\n`)
  }

  check (ok: boolean, text: string): boolean {
    this.say(`${ok ? 'ok  ' : 'FAIL'} ${text}`)
    if (!ok) this.failures.push(`${this.step === '' ? '' : `${this.step}: `}${text}`)
    return ok
  }

  /** A step that could not go on: recorded as a failure of the current step. */
  abort (err: unknown): void {
    const text = err instanceof Error ? err.message : String(err)
    this.say(`FAIL ${text}`)
    this.failures.push(`${this.step === '' ? '' : `${this.step}: `}${text}`)
  }

  /** The last line: passed, or which steps failed. */
  verdict (): boolean {
    if (this.failures.length === 0) {
      this.say('demo passed')
      return true
    }
    this.say(`demo FAILED: ${this.failures.length} check(s)`)
    for (const f of this.failures) this.note(`failed: ${f}`)
    return false
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Resolves with `work`, or rejects naming `what` when it takes longer than `ms`. */
export async function within<T> (ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      work,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: nothing within ${ms} ms`)) }, ms) })
    ])
  } finally {
    clearTimeout(timer)
  }
}
