import type { NodeIdentity } from '@egtp/identity'
import type { CloseDetail, Conn, RelayEndpoint, Transport } from '@egtp/interface'
import { relayCodec } from '../../src/index.ts'
import type { RelayMessage } from '../../src/index.ts'
import { signHello } from '../../src/protocol.ts'
import { solveWork } from '../../src/work.ts'

/** A hand-driven relay connection for protocol and adversarial tests. */
export class RawRelayConn {
  readonly conn: Conn
  readonly received: RelayMessage[] = []
  readonly closed: Promise<CloseDetail>
  #waiters: Array<() => void> = []
  /** The challenge `authenticate` answered. */
  challenge: Extract<RelayMessage, { t: 'rc' }> | undefined
  #read = 0

  constructor (conn: Conn) {
    this.conn = conn
    conn.addEventListener('message', ({ detail }) => {
      this.received.push(relayCodec.decode(detail))
      for (const w of this.#waiters.splice(0)) w()
    })
    this.closed = new Promise(resolve => {
      conn.addEventListener('close', ({ detail }) => {
        resolve(detail)
        for (const w of this.#waiters.splice(0)) w()
      })
    })
  }

  static async open (transport: Transport, endpoint: RelayEndpoint): Promise<RawRelayConn> {
    return new RawRelayConn(await transport.dial({ kind: 'tcp', host: endpoint.host, port: endpoint.port }))
  }

  /** The next unread frame (optionally of type `t`, skipping others), or throws when the connection closes first. */
  async next<T extends RelayMessage['t']> (t?: T, timeoutMs = 5000): Promise<Extract<RelayMessage, { t: T }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      while (this.#read < this.received.length) {
        const msg = this.received[this.#read++]!
        if (t === undefined || msg.t === t) return msg as Extract<RelayMessage, { t: T }>
      }
      if (this.conn.closed) throw new Error(`closed before ${t ?? 'a frame'} arrived`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${t ?? 'a frame'}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, 50)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  send (msg: RelayMessage): void {
    void this.conn.send(relayCodec.encode(msg)).catch(() => {})
  }

  sendBytes (bytes: Uint8Array): void {
    void this.conn.send(bytes).catch(() => {})
  }

  /** Answer the challenge as `identity`; returns the welcome (or throws with the refusal). */
  /**
   * Answer the challenge as `identity`; returns the welcome (or throws with the refusal). A proof of work the
   * challenge asks for is solved unless `work` says otherwise ('omit', or the solution bytes to send).
   */
  async authenticate (identity: NodeIdentity, role: 'client' | 'sender' = 'client', extra: { w?: boolean, d?: boolean } = {},
    work: 'solve' | 'omit' | Uint8Array = 'solve'): Promise<Extract<RelayMessage, { t: 'rw' }>> {
    const challenge = await this.next('rc')
    this.challenge = challenge
    let p: Uint8Array | undefined
    if (work instanceof Uint8Array) p = work
    else if (work === 'solve' && challenge.w !== undefined && challenge.w > 0) p = await solveWork(challenge.n, identity.publicKey, challenge.w)
    this.send({ t: 'rh', k: identity.publicKey, g: signHello(identity, challenge.n, challenge.id, role), r: role, ...extra, ...(p !== undefined ? { p } : {}) })
    const reply = await this.next()
    if (reply.t === 'rr') throw new Error(`${reply.c}: ${reply.s}`)
    if (reply.t !== 'rw') throw new Error(`unexpected ${reply.t}`)
    return reply
  }

  async close (): Promise<void> {
    await this.conn.close()
  }
}

/** A clock the test moves by hand. */
export function fakeClock (start = 1_700_000_000_000): { now: () => number, monotonic: () => number, advance: (ms: number) => void } {
  let t = start
  let m = 1000
  return { now: () => t, monotonic: () => m, advance: (ms) => { t += ms; m += ms } }
}
