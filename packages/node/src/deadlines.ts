/** Something with a deadline: `dueAt` in `performance.now()` milliseconds. */
export interface Due {
  readonly dueAt: number
}

/**
 * One timer for many deadlines (the pending queries'): a binary min-heap by `dueAt` under a single `setTimeout`
 * armed for the earliest. Adding costs a heap push and, only when the new deadline is the earliest, a re-arm;
 * settling costs nothing (what settled is skipped when its time comes: `live` says), so a query does not arm
 * and clear a timer of its own. Stale entries are dropped when the heap outgrows twice the live count. The timer
 * keeps the process alive only while something live waits (`idle()` unrefs it).
 */
export class Deadlines<T extends Due> {
  readonly #heap: T[] = []
  readonly #expire: (item: T) => void
  readonly #live: (item: T) => boolean
  readonly #liveCount: () => number
  #timer: ReturnType<typeof setTimeout> | undefined
  #armedAt = Infinity
  readonly #fire = (): void => { this.#onTimer() }

  /**
   * @param expire called for each live item whose deadline passed (once; it should settle the item)
   * @param live whether an item still waits (not settled meanwhile)
   * @param liveCount how many items wait in all (to bound the stale ones)
   */
  constructor (expire: (item: T) => void, live: (item: T) => boolean, liveCount: () => number) {
    this.#expire = expire
    this.#live = live
    this.#liveCount = liveCount
  }

  /** Entries held, stale ones included (bounded by twice the live count plus a small constant). */
  get size (): number {
    return this.#heap.length
  }

  add (item: T): void {
    const heap = this.#heap
    if (heap.length >= 2 * this.#liveCount() + 64) this.#compact()
    heap.push(item)
    let i = heap.length - 1
    while (i > 0) {
      const up = (i - 1) >> 1
      if (heap[up]!.dueAt <= item.dueAt) break
      heap[i] = heap[up]!
      i = up
    }
    heap[i] = item
    if (item.dueAt < this.#armedAt) this.#arm(item.dueAt)
    else if (this.#timer !== undefined && !this.#timer.hasRef()) this.#timer.ref()
  }

  /** Nothing live waits any more: forget every entry and let the process exit (the timer stays, unrefed). */
  idle (): void {
    const heap = this.#heap
    // A small heap is emptied in place (`length = 0` would drop its storage: one query at a time would then
    // allocate a new one per round trip); a large one gives its storage back.
    if (heap.length > 64) heap.length = 0
    else while (heap.length > 0) heap.pop()
    this.#timer?.unref()
  }

  /** Stop: no deadline fires any more. */
  clear (): void {
    this.#heap.length = 0
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedAt = Infinity
  }

  #arm (dueAt: number): void {
    clearTimeout(this.#timer)
    this.#armedAt = dueAt
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(dueAt - performance.now())))
  }

  #onTimer (): void {
    this.#timer = undefined
    this.#armedAt = Infinity
    // Timers may fire a fraction of a millisecond early (libuv's clock is in whole ms): within it counts as due.
    const now = performance.now() + 1
    const heap = this.#heap
    try {
      while (heap.length > 0 && heap[0]!.dueAt <= now) {
        const item = this.#pop()
        if (this.#live(item)) this.#expire(item)
      }
    } finally { // an `expire` that throws leaves the later deadlines armed
      // (an `add` from inside `expire` may have armed the timer already, maybe for a later deadline)
      if (heap.length > 0 && heap[0]!.dueAt < this.#armedAt) {
        this.#arm(heap[0]!.dueAt)
        if (this.#liveCount() === 0) this.idle()
      }
    }
  }

  #pop (): T {
    const heap = this.#heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) this.#siftDown(0, last)
    return top
  }

  #siftDown (start: number, item: T): void {
    const heap = this.#heap
    const n = heap.length
    let i = start
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && heap[child + 1]!.dueAt < heap[child]!.dueAt) child++
      if (heap[child]!.dueAt >= item.dueAt) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = item
  }

  /** Drop settled entries and restore the heap order. */
  #compact (): void {
    const heap = this.#heap
    let w = 0
    for (const item of heap) if (this.#live(item)) heap[w++] = item
    heap.length = w
    for (let i = (w >> 1) - 1; i >= 0; i--) this.#siftDown(i, heap[i]!)
  }
}
