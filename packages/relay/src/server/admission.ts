import type { Clock } from '@egtp/interface'
import { checkWork } from '../work.ts'
import { idKey } from './mailbox.ts'
import type { ClientQueue, Mailbox } from './mailbox.ts'

export interface AdmissionLimits {
  maxClients: number
  maxClientsPerSource: number
  workBits: number
  workLoadPercent: number
  workNewClientsPerSecond: number
}

/** Why a client registration was refused: no proof of work, its source is at its cap, or the relay is full. */
export type AdmissionRefusal = 'work' | 'source'

export interface ClientHello {
  idBytes: Uint8Array
  publicKey: Uint8Array
  nonce: Uint8Array
  /** The work the connection's challenge asked for (0: none). */
  askedBits: number
  solution: Uint8Array | undefined
  source: string
}

/**
 * Who may register as a client. A registration costs the relay a queue until its TTL, so: at most
 * `maxClientsPerSource` per source address, registrations that are away with an empty queue give way first
 * (from the same source, then from anywhere) when room is needed, and under load (the registry more than
 * `workLoadPercent` full, or more than `workNewClientsPerSecond` new ones in the last second) a new
 * registration must carry a proof of work of `workBits` bits, which costs the client ~2^bits hashes and the
 * relay one.
 */
export class Admission {
  readonly #limits: AdmissionLimits
  readonly #mailbox: Mailbox
  readonly #clock: Clock
  #windowStart = -Infinity
  #inWindow = 0
  #lastWindow = 0

  constructor (limits: AdmissionLimits, mailbox: Mailbox, clock: Clock) {
    this.#limits = limits
    this.#mailbox = mailbox
    this.#clock = clock
  }

  /** The proof-of-work difficulty to put in a new connection's challenge (0 when not under load). */
  workBitsNow (): number {
    const l = this.#limits
    if (l.workBits === 0) return 0
    if (this.#mailbox.clients.size * 100 >= l.maxClients * l.workLoadPercent) return l.workBits
    this.#roll()
    return Math.max(this.#inWindow, this.#lastWindow) >= l.workNewClientsPerSecond ? l.workBits : 0
  }

  /**
   * Decide on a client registration, calling `evict` for each idle registration given up to make room.
   * `undefined` means go ahead (the mailbox may still be full of connected or non-empty queues).
   */
  admit (hello: ClientHello, evict: (queue: ClientQueue) => void): AdmissionRefusal | undefined {
    const mailbox = this.#mailbox
    const existing = mailbox.clients.get(idKey(hello.idBytes))
    const isNew = existing?.retain !== true
    if (isNew && !checkWork(hello.nonce, hello.publicKey, hello.solution, hello.askedBits)) return 'work'
    if (existing?.retain === true && existing.source === hello.source) return undefined // coming back
    if (mailbox.registrationsFrom(hello.source) >= this.#limits.maxClientsPerSource) {
      const victim = mailbox.oldestIdle(hello.source)
      if (victim === undefined || victim === existing) return 'source'
      evict(victim)
    }
    if (existing === undefined && mailbox.clients.size >= this.#limits.maxClients) {
      const victim = mailbox.oldestIdle()
      if (victim !== undefined) evict(victim)
    }
    if (isNew) {
      this.#roll()
      this.#inWindow++
    }
    return undefined
  }

  #roll (): void {
    const now = this.#clock.monotonic()
    if (now - this.#windowStart < 1000) return
    this.#lastWindow = now - this.#windowStart < 2000 ? this.#inWindow : 0
    this.#windowStart = now
    this.#inWindow = 0
  }
}
