// The relay client against the shared commstrat compliance suite, through a real relay server on 127.0.0.1.
import { generateIdentity } from '@egtp/identity'
import { commstratCompliance } from '@egtp/testing/compliance'
import { tcp } from '@egtp/tcp'
import { registered } from '../helpers/setup.ts'
import { tcpClient, tcpServer } from './helpers.ts'

commstratCompliance('relay client', async () => {
  const cleanups: Array<() => Promise<void> | void> = []
  const cleanup = (fn: () => Promise<void> | void): void => { cleanups.push(fn) }
  const teardown = async (): Promise<void> => { for (const fn of cleanups.reverse()) await fn() }
  try {
    const server = await tcpServer(cleanup)
    const bId = generateIdentity()
    const b = await tcpClient(cleanup, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const a = await tcpClient(cleanup, { register: false }, generateIdentity())
    // a relay endpoint where no relay listens: a port bound, then released
    const gone = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()
    await gone.start()
    const deadPort = gone.localEndpoints()[0]!
    await gone.stop()
    return {
      a,
      b,
      idOfB: bId.nodeId,
      endpointOfB: b.localEndpoints()[0]!,
      deadEndpoint: { kind: 'relay', relay: generateIdentity().nodeId, host: '127.0.0.1', port: deadPort.kind === 'tcp' ? deadPort.port : 1 },
      foreignEndpoint: { kind: 'tcp', host: '127.0.0.1', port: 1 },
      teardown
    }
  } catch (err) {
    await teardown()
    throw err
  }
})
