import type { DedupStream } from './dedup.ts'
import type { DedupJournal } from './journal.ts'
import type { Peer } from './peers.ts'
import type { DropReason } from './types.ts'
import type { OnewayMsg, QueryMsg } from '@egtp/codec/node'

/** The receiver's side a {@link Delivery} needs. */
export interface DeliveryHost {
  /** Hand the message over (record it delivered, acknowledge it, run its handler). */
  deliver: (d: Delivery) => Promise<unknown> | undefined
  /** The message was not delivered after all: a re-send will be. */
  release: (d: Delivery, reason: DropReason | undefined) => void
  readonly journal: DedupJournal | undefined
}

/**
 * One accepted message on its way to its handler: runs when a handler slot is free; with a journal, first
 * makes its "in flight" record durable (grouped with the other messages of the same turn).
 */
export class Delivery {
  readonly receiver: DeliveryHost
  readonly peer: Peer
  readonly stream: DedupStream
  readonly counter: number
  readonly message: QueryMsg | OnewayMsg
  readonly receivedAt: number

  constructor (receiver: DeliveryHost, peer: Peer, stream: DedupStream, counter: number, message: QueryMsg | OnewayMsg, receivedAt: number) {
    this.receiver = receiver
    this.peer = peer
    this.stream = stream
    this.counter = counter
    this.message = message
    this.receivedAt = receivedAt
  }

  run (): Promise<unknown> | undefined {
    const journal = this.receiver.journal
    if (journal === undefined) return this.receiver.deliver(this)
    return new Promise<void>(resolve => {
      journal.commit([{ stream: this.stream, counter: this.counter }], ok => {
        if (!ok) {
          this.receiver.release(this, 'persist')
          resolve()
          return
        }
        const r = this.receiver.deliver(this)
        if (r === undefined) resolve()
        else r.then(() => { resolve() }, () => { resolve() })
      })
    })
  }

  cancel (): void {
    this.receiver.release(this, undefined)
  }
}
