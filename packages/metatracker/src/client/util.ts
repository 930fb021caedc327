// Small helpers of the client: a fair shuffle, racing a promise against an abort signal, and settling a fan-out early.

export function shuffle<T> (items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const x = items[i]!
    items[i] = items[j]!
    items[j] = x
  }
  return items
}

export async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

/**
 * The results of `tasks` in order, without waiting for stragglers: once one result is `useful`, the others get
 * `settleMs` more, and a task still running then reads as `undefined` (it keeps running; its own bookkeeping
 * still happens). One dead tracker must not hold up an answer another tracker gave in a millisecond.
 */
export async function settleEarly<R> (tasks: Array<Promise<R>>, useful: (result: R) => boolean, settleMs: number): Promise<Array<R | undefined>> {
  const results: Array<R | undefined> = new Array(tasks.length).fill(undefined)
  let left = tasks.length
  if (left === 0) return results
  return await new Promise(resolve => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = (): void => { clearTimeout(timer); resolve(results.slice()) }
    tasks.forEach((task, i) => {
      void task.then(result => {
        results[i] = result
        if (--left === 0) finish()
        else if (timer === undefined && useful(result)) timer = setTimeout(finish, settleMs)
      })
    })
  })
}
