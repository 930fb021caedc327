import { createMessageCodec, defineMessage, f } from '@egtp/codec'
import type { KeyValueStore, Logger } from '@egtp/interface'
import type { DedupStream, InboundDedup } from './dedup.ts'

/** The store key of the receiver's de-duplication journal. */
export const JOURNAL_KEY = 'egtp/node/dedup'

const JournalMessage = defineMessage('nj', {
  s: f.array(f.struct({
    p: f.str({ min: 1, max: 64 }),
    e: f.bytes({ len: 8 }),
    l: f.uint(),
    a: f.array(f.uint(), { max: 1 << 20 }),
    u: f.array(f.uint(), { max: 1 << 20 }),
    x: f.uint()
  }), { max: 1 << 20 })
})
const journalCodec = createMessageCodec([JournalMessage], { maxItems: 1 << 26 })

interface Item { stream: DedupStream, counter: number }
interface Group { items: Item[], done: Array<(ok: boolean) => void> }

/**
 * Makes de-duplication survive a crash: before messages are handed to handlers, the dedup state is written
 * to the store with those messages marked "in flight". After a crash, in-flight messages count as
 * uncertain: a re-send is answered with `u` (the sender reports ERR_DELIVERY_UNCERTAIN) instead of being
 * delivered a second time. Writes are grouped: every message that arrives while one write is in progress
 * goes into the next one.
 */
export class DedupJournal {
  readonly #store: KeyValueStore
  readonly #dedup: InboundDedup
  readonly #log: Logger
  #next: Group = { items: [], done: [] }
  #writing: Promise<void> | undefined

  constructor (store: KeyValueStore, dedup: InboundDedup, log: Logger) {
    this.#store = store
    this.#dedup = dedup
    this.#log = log
  }

  /** Restore the persisted state into the dedup table. A corrupt journal is logged and ignored. */
  async load (now: number): Promise<void> {
    const bytes = await this.#store.get(JOURNAL_KEY)
    if (bytes === undefined) return
    try {
      const j = journalCodec.decode(bytes)
      this.#dedup.restore(j.s, now)
    } catch (err) {
      this.#log.error('dedup journal unreadable, starting empty: %e', err)
    }
  }

  /**
   * Record `items` as in flight; `done(true)` runs once they are durable, synchronously before the next
   * write is prepared (so whatever `done` delivers is in that write), `done(false)` when the write failed.
   */
  commit (items: Item[], done: (ok: boolean) => void): void {
    this.#next.items.push(...items)
    this.#next.done.push(done)
    this.#writing ??= this.#drain()
  }

  /** Wait for writes in progress. */
  async flush (): Promise<void> {
    while (this.#writing !== undefined) await this.#writing
  }

  async #drain (): Promise<void> {
    // Let the rest of the current frame's messages join this write.
    await Promise.resolve()
    try {
      while (this.#next.done.length > 0) {
        const group = this.#next
        this.#next = { items: [], done: [] }
        const inflight = new Map<DedupStream, number[]>()
        for (const { stream, counter } of group.items) {
          const list = inflight.get(stream)
          if (list === undefined) inflight.set(stream, [counter])
          else list.push(counter)
        }
        let ok = true
        try {
          const body = journalCodec.encode({ t: 'nj', s: this.#dedup.snapshot(inflight) })
          await this.#store.put(JOURNAL_KEY, body)
        } catch (err) {
          ok = false
          this.#log.error('dedup journal write failed: %e', err)
        }
        for (const done of group.done) {
          try {
            done(ok)
          } catch (err) {
            this.#log.error('dedup journal callback failed: %e', err)
          }
        }
      }
    } finally {
      this.#writing = undefined
    }
  }
}
