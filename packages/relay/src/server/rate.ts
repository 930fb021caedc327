import { TokenBucket } from '@egtp/interface'

/** Token buckets for one sender: messages and bytes per second, each with a burst of two seconds' worth. */
export class SenderBucket {
  readonly #msgs: TokenBucket
  readonly #bytes: TokenBucket
  /** Connections of this sender currently open (the bucket is forgotten when none is). */
  refs = 0

  constructor (msgRate: number, byteRate: number, now: number) {
    this.#msgs = new TokenBucket(msgRate, msgRate * 2, now)
    this.#bytes = new TokenBucket(byteRate, byteRate * 2, now)
  }

  /** Take one message of `bytes` if the budget allows (both buckets, or neither). */
  take (bytes: number, now: number): boolean {
    if (!this.#msgs.has(1, now) || !this.#bytes.has(bytes, now)) return false
    this.#msgs.consume(1, now)
    this.#bytes.consume(bytes, now)
    return true
  }
}
