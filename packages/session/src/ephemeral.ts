// The ephemeral X25519 key pair of the next handshake, made ahead of it: a key pair costs ~25 µs of libsodium
// (~40 µs sampled: the path runs once per peer, never optimised), which a fresh peer's first query otherwise waits
// for (the initiator writing message 1, the responder writing message 2).
//
// Why this is safe: a spare is handed to exactly one handshake — `take` clears it before returning it, and the
// handshake owns it from then on (zeroes its secret once its last DH is done, or when it is wiped) — so no
// ephemeral is ever used twice. The next spare is a new key pair from the OS CSPRNG, made by `fill` (start) or,
// from the second handshake on, after the turn that took the last one (`setImmediate`). A spare waiting in memory
// lengthens the time an ephemeral secret exists before its handshake: a memory snapshot taken then would reveal
// the next handshake's ephemeral (otherwise only those of handshakes under way); `maxAgeMs` bounds that window
// (an older spare is zeroed, not used). Closing the manager zeroes it.
//
// Who gets a spare: a node that makes one handshake (a client with one server) needs no second key pair, and an
// idle one needs none made for it every `maxAgeMs`; so the tick (`age`) only zeroes a spare past its age. It used
// to make one whenever none was held: ~0.9 key pairs per short-lived node (one on the tick after its first
// handshake), and one per idle node every `maxAgeMs`.
import type { Clock } from '@egtp/interface'
import { generateKeyPair, wipeSecret } from './noise/primitives.ts'
import type { KeyPair } from './noise/primitives.ts'

export class SpareEphemeral {
  readonly #clock: Clock
  readonly #maxAgeMs: number
  readonly #generate: () => KeyPair
  #pair: KeyPair | undefined = undefined
  #madeAt = 0
  #scheduled = false
  #closed = false
  #taken = 0

  /** @param generate a new key pair from the CSPRNG (a test may watch what is made) */
  constructor (clock: Clock, maxAgeMs: number, generate: () => KeyPair = generateKeyPair) {
    this.#clock = clock
    this.#maxAgeMs = maxAgeMs
    this.#generate = generate
  }

  /**
   * The ephemeral key pair of a new handshake, used by it alone: the spare when it is young enough (from the
   * second handshake on, another is made after this turn), else a new one. A stable function (no closure per
   * handshake).
   */
  readonly take = (): KeyPair => {
    const pair = this.#pair
    this.#pair = undefined
    if (++this.#taken > 1) this.#refillSoon()
    if (pair !== undefined) {
      if (this.#clock.monotonic() - this.#madeAt < this.#maxAgeMs) return pair
      wipeSecret(pair)
    }
    return this.#generate()
  }

  /**
   * The tick's part: zero a spare past its age and make none in its place. A spare is made at start and after
   * the turn of each handshake from the second on, so one that reaches its age belongs to a manager that made no
   * handshake for as long: its next handshake makes its own pair, then a spare after that turn.
   */
  age (now: number): void {
    const pair = this.#pair
    if (pair === undefined || now - this.#madeAt < this.#maxAgeMs) return
    wipeSecret(pair)
    this.#pair = undefined
  }

  /** Make the spare now if there is none (or replace one past its age): off every handshake's path. */
  fill (now: number): void {
    if (this.#closed) return
    if (this.#pair !== undefined) {
      if (now - this.#madeAt < this.#maxAgeMs) return
      wipeSecret(this.#pair)
    }
    this.#pair = this.#generate()
    this.#madeAt = now
  }

  #refillSoon (): void {
    if (this.#scheduled || this.#closed) return
    this.#scheduled = true
    // After the I/O callbacks of this turn (the handshake's frame is written first); unref'd: a pending refill
    // never keeps a process alive.
    setImmediate(() => {
      this.#scheduled = false
      this.fill(this.#clock.monotonic())
    }).unref()
  }

  /** Zero the spare and make no more (the manager closes). */
  close (): void {
    this.#closed = true
    wipeSecret(this.#pair)
    this.#pair = undefined
  }

  /** @internal Whether a spare is held (tests). */
  get held (): boolean {
    return this.#pair !== undefined
  }
}
