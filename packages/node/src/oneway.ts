import type { EgtpError } from '@egtp/interface'
import type { OutEntry, Settlement } from './outbound.ts'
import type { Peer } from './peers.ts'
import type { Sender } from './sender.ts'

/**
 * Submit a one-way message; the promise settles with its outcome (acknowledged, or failed). Without a signal
 * no closure is made per message: the entry holds the promise's functions and one shared settle calls them.
 * @throws {EgtpError} as {@link Sender.submit}, synchronously
 */
export function submitOneway (sender: Sender, peer: Peer, type: string, payload: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    const promise = new Promise<void>(capture)
    const resolve = capturedResolve
    const reject = capturedReject
    capturedResolve = capturedReject = undefined
    sender.submit(peer, 'o', type, payload, timeoutMs, settleByEntry, resolve, reject)
    return promise
  }
  return new Promise<void>((resolve, reject) => {
    let onAbort: (() => void) | undefined = undefined
    const entry = sender.submit(peer, 'o', type, payload, timeoutMs, r => {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
      if (r.ok) resolve()
      else reject(r.error)
    })
    onAbort = () => {
      if (sender.forget(peer, entry.key) !== undefined) reject(signal.reason as Error)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

let capturedResolve: (() => void) | undefined
let capturedReject: ((error: EgtpError) => void) | undefined
/** A promise executor that hands its functions over (synchronously, through the two variables above). */
function capture (resolve: () => void, reject: (error: EgtpError) => void): void {
  capturedResolve = resolve
  capturedReject = reject
}

/** The `settle` of entries that carry their promise's functions. */
function settleByEntry (this: OutEntry, r: Settlement): void {
  if (r.ok) this.resolve!()
  else this.reject!(r.error)
}
