/** Token buckets for one sender: messages and bytes per second, each with a burst of two seconds' worth. */
export class SenderBucket {
  readonly #msgRate: number
  readonly #byteRate: number
  #msgs: number
  #bytes: number
  #at: number
  /** Connections of this sender currently open (the bucket is forgotten when none is). */
  refs = 0

  constructor (msgRate: number, byteRate: number, now: number) {
    this.#msgRate = msgRate
    this.#byteRate = byteRate
    this.#msgs = msgRate * 2
    this.#bytes = byteRate * 2
    this.#at = now
  }

  /** Take one message of `bytes` if the budget allows. */
  take (bytes: number, now: number): boolean {
    const dt = Math.max(0, now - this.#at) / 1000
    this.#at = now
    this.#msgs = Math.min(this.#msgRate * 2, this.#msgs + dt * this.#msgRate)
    this.#bytes = Math.min(this.#byteRate * 2, this.#bytes + dt * this.#byteRate)
    if (this.#msgs < 1 || this.#bytes < bytes) return false
    this.#msgs -= 1
    this.#bytes -= bytes
    return true
  }
}
