/**
 * Liveness of one relay connection: a ping after `keepaliveMs` of silence, the connection given up after twice
 * that; and the relay's pings waiting for their answers.
 */
export class Keepalive {
  readonly #keepaliveMs: number
  #lastRx = 0
  #pingSent = false
  #pongs: number[] = []

  constructor (keepaliveMs: number) {
    this.#keepaliveMs = keepaliveMs
  }

  /** A new connection, up at `now`. */
  reset (now: number): void {
    this.#lastRx = now
    this.#pingSent = false
    this.#pongs = []
  }

  /** Something arrived at `now`. */
  heard (now: number): void {
    this.#lastRx = now
    this.#pingSent = false
  }

  /** What the silence up to `now` calls for: give up the connection, send one ping, or nothing. */
  check (now: number): 'dead' | 'ping' | undefined {
    const silent = now - this.#lastRx
    if (silent > 2 * this.#keepaliveMs) return 'dead'
    if (silent > this.#keepaliveMs && !this.#pingSent) { this.#pingSent = true; return 'ping' }
    return undefined
  }

  /** The relay pinged with `n`: answer it with the next write. */
  pinged (n: number): void {
    this.#pongs.push(n)
  }

  takePongs (): number[] {
    const pongs = this.#pongs
    if (pongs.length > 0) this.#pongs = []
    return pongs
  }
}
