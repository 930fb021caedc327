import { EgtpError, bytesEqual } from '@egtp/interface'
import type { Conn } from '@egtp/interface'
import type { NodeIdentity } from '@egtp/identity'
import { relayCodec, relayError, signHello } from '../protocol.ts'
import type { RelayMessage, RelayRole } from '../protocol.ts'
import { solveWork } from '../work.ts'

/** The relay's welcome: the node ID it authenticated, its epoch, whether it persists, its largest payload. */
export type Welcome = Extract<RelayMessage, { t: 'rw' }>

export interface HandshakeParams {
  /** The link's key, for messages. */
  key: string
  /** The relay ID the endpoint names: the challenge must come from it. */
  relayIdBytes: Uint8Array
  identity: NodeIdentity
  role: RelayRole
  /** Ask for delivered notices. */
  track: boolean
}

/**
 * Authenticate on `conn` (PROTOCOL.md §4.1): check the challenge comes from the relay the endpoint names, sign it
 * (with a proof of work when the relay asks a new registration for one), and wait for the welcome. `onWelcome`
 * runs synchronously on the welcome: frames following it in the same read must find the link's handlers.
 * @throws {EgtpError} ERR_AUTH (another relay answered), a refusal's code (`rr`), ERR_RELAY_REFUSED (unexpected
 *   frame), ERR_UNREACHABLE (closed); rethrows `signal.reason`
 */
export function handshake (conn: Conn, signal: AbortSignal, p: HandshakeParams, onWelcome: (welcome: Welcome) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stage: 'challenge' | 'welcome' = 'challenge'
    const solving = new AbortController() // stops a proof of work in progress once the handshake is over
    const cleanup = (): void => {
      solving.abort()
      conn.removeEventListener('message', onMessage)
      conn.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
    }
    const fail = (err: unknown): void => { cleanup(); reject(err) }
    const onMessage = ({ detail }: CustomEvent<Uint8Array>): void => {
      try {
        const msg = relayCodec.decode(detail)
        if (msg.t === 'rr') throw relayError(msg.c, `relay ${p.key} refused: ${msg.s}`)
        if (stage === 'challenge' && msg.t === 'rc') {
          if (!bytesEqual(msg.id, p.relayIdBytes)) throw new EgtpError('ERR_AUTH', `${p.key} is not the relay it was advertised as`)
          const hello = { t: 'rh' as const, k: p.identity.publicKey, g: signHello(p.identity, msg.n, msg.id, p.role), r: p.role, d: p.track }
          stage = 'welcome'
          // Under load the relay asks a new registration for a proof of work (bounded by the codec's maximum).
          const work = msg.w !== undefined && msg.w > 0 && p.role === 'client'
            ? solveWork(msg.n, p.identity.publicKey, msg.w, AbortSignal.any([signal, solving.signal]))
            : Promise.resolve(undefined)
          work.then(w => conn.send(relayCodec.encode(w !== undefined ? { ...hello, p: w } : hello))).catch(fail)
        } else if (stage === 'welcome' && msg.t === 'rw') {
          cleanup()
          onWelcome(msg)
          resolve()
        } else {
          throw new EgtpError('ERR_RELAY_REFUSED', `unexpected ${msg.t} from relay ${p.key}`)
        }
      } catch (err) {
        fail(err)
      }
    }
    const onClose = (): void => { fail(new EgtpError('ERR_UNREACHABLE', `relay ${p.key} closed the connection`)) }
    const onAbort = (): void => { fail(signal.reason) }
    conn.addEventListener('message', onMessage)
    conn.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
