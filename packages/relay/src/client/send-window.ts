import { MAX_RELAY_BATCH } from '@egtp/codec'
import { Fifo } from '@egtp/interface'
import type { OutboundFrame } from '@egtp/interface'
import { FIRST_MESSAGE_NUMBER } from '../protocol.ts'
import { encodeSend, encodeSendOne } from '@egtp/codec/relay'
import { OWN_FRAME_BYTES } from '../constants.ts'
import { Custody } from './custody.ts'
import type { CustodyLimits } from './custody.ts'
import { SeqMap } from './seq-map.ts'

export interface SendWindowConfig extends CustodyLimits {
  maxPendingSends: number
  maxPendingSendBytes: number
  maxInflightSends: number
  maxBatchBytes: number
}

interface OutMsg {
  /** Message number on the current connection, once written. */
  m: number
  to: Uint8Array
  /** The frame to pass on: one buffer, or (large ones only) the pieces the node sealed, not copied together. */
  payload: OutboundFrame
  size: number
  deadline: number
  written: boolean
  resolve: () => void
  reject: (err: unknown) => void
  cleanup: (() => void) | undefined
}

const noop = (): void => {}

/**
 * The sending side of one relay link: messages waiting (in order), in flight (written and numbered, until the
 * relay's accept ack `ry` or refusal `rx`), and in custody (accepted, until a delivered or lost notice). It numbers
 * messages, cuts them into `rs` batches as the window allows, and settles each send's promise once.
 */
export class SendWindow {
  readonly custody: Custody
  /** Messages the relay accepted: part of the link's record of service. */
  accepted = 0
  readonly #config: SendWindowConfig
  readonly #track: boolean
  readonly #queue = new Fifo<OutMsg>()
  #queueBytes = 0
  readonly #inflight = new SeqMap<OutMsg>()
  /** Messages waiting on each caller's abort signal (one listener per signal, see #watch). */
  readonly #aborters = new Map<AbortSignal, { msgs: Set<OutMsg>, onAbort: () => void }>()
  /** See {@link FIRST_MESSAGE_NUMBER}: the numbering is part of the wire contract. */
  #nextM = FIRST_MESSAGE_NUMBER

  constructor (config: SendWindowConfig, track: boolean) {
    this.#config = config
    this.#track = track
    this.custody = new Custody(config)
  }

  /** Messages waiting or in flight. */
  get pending (): number {
    return this.#queue.length + this.#inflight.size
  }

  /** Whether messages wait to be written. */
  get waiting (): boolean {
    return this.#queue.length > 0
  }

  /** Whether one more message of `size` bytes stays within the waiting limits. */
  hasRoom (size: number): boolean {
    return this.pending < this.#config.maxPendingSends && this.#queueBytes + size <= this.#config.maxPendingSendBytes
  }

  /** Queue a message; the promise settles when the relay accepts or refuses it, or it fails. */
  add (to: Uint8Array, payload: OutboundFrame, size: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const msg: OutMsg = { m: -1, to, payload, size, deadline, written: false, resolve, reject, cleanup: undefined }
      if (signal !== undefined) this.#watch(signal, msg)
      this.#queue.push(msg)
      this.#queueBytes += size
    })
  }

  /**
   * Fail `msg` when `signal` aborts. Callers usually pass one long-lived signal for every send (the node's
   * shutdown signal), so each signal gets a single listener, shared by its waiting messages: one listener
   * per message would pile up thousands on that signal (and trip Node's MaxListeners warning past 10).
   */
  #watch (signal: AbortSignal, msg: OutMsg): void {
    let waiting = this.#aborters.get(signal)
    if (waiting === undefined) {
      const msgs = new Set<OutMsg>()
      const onAbort = (): void => {
        for (const m of [...msgs]) { this.#drop(m); m.reject(signal.reason) }
      }
      waiting = { msgs, onAbort }
      this.#aborters.set(signal, waiting)
      signal.addEventListener('abort', onAbort, { once: true })
    }
    const w = waiting
    w.msgs.add(msg)
    msg.cleanup = () => {
      w.msgs.delete(msg)
      if (w.msgs.size === 0 && this.#aborters.get(signal) === w) {
        signal.removeEventListener('abort', w.onAbort)
        this.#aborters.delete(signal)
      }
    }
  }

  #drop (msg: OutMsg): void {
    msg.cleanup?.()
    if (this.#queue.remove(msg)) {
      this.#queueBytes -= msg.size
      return
    }
    if (msg.m >= 0 && this.#inflight.get(msg.m) === msg) this.#inflight.delete(msg.m)
  }

  /** The relay accepted every message up to `upTo` (`ry`): resolve them, keep them in custody when tracking. */
  acceptedUpTo (upTo: number): void {
    const inflight = this.#inflight
    for (let m = inflight.firstKey(); m !== undefined && m <= upTo; m = inflight.firstKey()) {
      const out = inflight.shift()!
      out.cleanup?.()
      this.accepted++
      if (this.#track) this.custody.keep(m, out)
      const resolve = out.resolve
      // Kept as custody: let go of the settled promise's functions.
      out.resolve = noop
      out.reject = noop
      out.cleanup = undefined
      resolve()
    }
  }

  /** The relay refused message `m` (`rx`) with `err`. */
  refused (m: number, err: Error): void {
    const out = this.#inflight.get(m)
    if (out === undefined) return
    this.#inflight.delete(m)
    out.cleanup?.()
    out.reject(err)
  }

  /** Fail every message waiting (`unwritten`) or in flight (`written`). */
  failAll (unwritten: Error, written: Error): void {
    const all = [...this.#inflight.values(), ...this.#queue.drain()]
    this.#inflight.clear()
    this.#queueBytes = 0
    for (const m of all) {
      m.cleanup?.()
      m.reject(m.written ? written : unwritten)
    }
  }

  /** Fail the messages whose deadline passed by `now`, with the error `errorFor` gives (written or not). */
  expire (now: number, errorFor: (written: boolean) => Error): void {
    for (const msg of [...this.#queue.values(), ...this.#inflight.values()]) {
      if (msg.deadline > now) continue
      this.#drop(msg)
      msg.reject(errorFor(msg.written))
    }
  }

  /**
   * The next `rs` frame: waiting messages, as many as the window, the batch and the frame allow, numbered. A
   * large message alone is sent as head + payload, without copying the payload into the frame. A message over
   * `maxMessageBytes` fails with `tooLarge(size)` instead.
   */
  nextBatch (maxMessageBytes: number, tooLarge: (size: number) => Error): OutboundFrame | undefined {
    const entries: OutMsg[] = []
    let bytes = 0
    while (this.#queue.length > 0 && entries.length < MAX_RELAY_BATCH && this.#inflight.size < this.#config.maxInflightSends) {
      const msg = this.#queue.peek()!
      const size = msg.size
      // A large message travels alone: the relay then delivers it from the frame it arrived in (no copy).
      if (entries.length > 0 && (bytes + size > this.#config.maxBatchBytes || size >= OWN_FRAME_BYTES)) break
      this.#queue.shift()
      this.#queueBytes -= size
      if (size > maxMessageBytes) {
        msg.cleanup?.()
        msg.reject(tooLarge(size))
        continue
      }
      const m = msg.m = this.#nextM++
      msg.written = true
      this.#inflight.set(m, msg)
      entries.push(msg)
      bytes += size
      if (size >= OWN_FRAME_BYTES) break
    }
    if (entries.length === 1 && bytes >= OWN_FRAME_BYTES) return encodeSendOne(entries[0]!.m, entries[0]!.to, entries[0]!.payload, bytes)
    // Batched messages are small, and small ones are one buffer (see RelayLink.send).
    return entries.length > 0 ? encodeSend(entries as Array<OutMsg & { payload: Uint8Array }>) : undefined
  }
}
