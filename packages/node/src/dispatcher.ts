/** A unit of handler work: `run` once a slot is free (its promise frees the slot), or `cancel` if dropped. */
export interface Job {
  run: () => Promise<unknown> | undefined
  cancel: () => void
}

/**
 * Bounded handler concurrency: at most `maxConcurrent` jobs run; up to `maxQueued` wait in order; beyond
 * that `tryRun` refuses (the caller leaves the message unacknowledged so the sender re-sends it later).
 */
export class Dispatcher {
  readonly maxConcurrent: number
  readonly maxQueued: number
  #running = 0
  readonly #queue: Array<Job | undefined> = []
  #head = 0
  #idle: Array<() => void> = []

  constructor (maxConcurrent: number, maxQueued: number) {
    this.maxConcurrent = maxConcurrent
    this.maxQueued = maxQueued
  }

  get running (): number {
    return this.#running
  }

  get queued (): number {
    return this.#queue.length - this.#head
  }

  /** Whether one more job would be taken. */
  hasRoom (): boolean {
    return this.#running < this.maxConcurrent || this.queued < this.maxQueued
  }

  /** Run or queue `job`; false when full. `job.cancel` runs if it is dropped by {@link clear}. */
  tryRun (job: Job): boolean {
    if (this.#running < this.maxConcurrent) {
      this.#start(job)
      return true
    }
    if (this.queued >= this.maxQueued) return false
    this.#queue.push(job)
    return true
  }

  /**
   * Take a slot for work run by the caller right now (no job object): false when every slot is busy. The
   * caller must pass what the work returned to {@link ran}.
   */
  claim (): boolean {
    if (this.#running >= this.maxConcurrent) return false
    this.#running++
    return true
  }

  /** The claimed work returned `result` (its promise, if any, holds the slot until it settles). */
  ran (result: Promise<unknown> | undefined): void {
    if (result === undefined) {
      this.#running--
      return
    }
    result.then(() => { this.#done() }, () => { this.#done() })
  }

  /** Drop every queued job (calling its cancel). Running jobs continue. */
  clear (): void {
    const dropped = this.#queue.slice(this.#head)
    this.#queue.length = 0
    this.#head = 0
    for (const q of dropped) q?.cancel()
    this.#checkIdle()
  }

  /** Resolves when nothing runs or waits. */
  idle (): Promise<void> {
    if (this.#running === 0 && this.queued === 0) return Promise.resolve()
    return new Promise(resolve => { this.#idle.push(resolve) })
  }

  #start (job: Job): void {
    this.#running++
    let result: Promise<unknown> | undefined
    try {
      result = job.run()
    } catch {
      result = undefined
    }
    if (result === undefined) {
      this.#running--
      return
    }
    result.then(() => { this.#done() }, () => { this.#done() })
  }

  #done (): void {
    this.#running--
    this.#pump()
    this.#checkIdle()
  }

  #pump (): void {
    while (this.queued > 0 && this.#running < this.maxConcurrent) {
      const next = this.#queue[this.#head]!
      this.#queue[this.#head++] = undefined
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head)
        this.#head = 0
      }
      this.#start(next)
    }
  }

  #checkIdle (): void {
    if (this.#running === 0 && this.queued === 0 && this.#idle.length > 0) {
      const waiters = this.#idle
      this.#idle = []
      for (const w of waiters) w()
    }
  }
}
