// Relay child: one @egtp/relay server (its sender and queue limits lifted by name, for a bench), alone in its
// process as apps/relay runs it. Ready with its RelayEndpoint.
import { failStartup, serveParent } from './ipc.ts'
import { loadEgtp } from './impl/egtp-loader.ts'
import { parseSourceArgs } from './impl/index.ts'

const which = process.argv[2] === 'egtp@base' ? 'base' : 'egtp'
try {
  const api = await loadEgtp(parseSourceArgs(process.argv)[which])
  const transport = api.tcp()()
  const server = api.relayServer({
    senderMessagesPerSecond: 1e9,
    senderBytesPerSecond: 2 ** 40,
    maxQueuedMessagesPerClient: 1_000_000,
    maxQueuedBytesPerClient: 2 ** 32,
    maxTotalQueuedBytes: 2 ** 33
  })({ transport, identity: api.generateIdentity() })
  await server.start()
  serveParent(server.endpoint(), {}, async () => {
    await server.stop()
    await transport.stop()
  })
} catch (err) {
  failStartup(err)
}
