// Hyperswarm's encrypted stream over plain TCP: Noise XX, then libsodium secretstream (through sodium-native).
// Each write is one message and each 'data' event one message, so no framing of our own.
import { createServer, connect } from 'node:net'
import type { Socket } from 'node:net'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { listenLoopback } from './tcp-listen.ts'
import { ReplyQueue, onceEvent } from './types.ts'
import type { ClientConn, FreshPeer, Impl, ServeOptions, ServerHandle } from './types.ts'

interface TcpAddress { host: string, port: number }

async function open (address: unknown, keyPair = NoiseSecretStream.keyPair()): Promise<NoiseSecretStream> {
  const { host, port } = address as TcpAddress
  const socket = connect({ host, port, noDelay: true })
  const stream = new NoiseSecretStream(true, socket, { keyPair })
  stream.on('error', () => {})
  return stream
}

function streamConn (stream: NoiseSecretStream): ClientConn {
  const replies = new ReplyQueue()
  stream.on('data', () => { replies.complete(1) })
  return {
    request: (payload) => new Promise<void>(resolve => {
      replies.push(resolve)
      stream.write(payload)
    }),
    sendMany: async (payload, n) => {
      for (let i = 0; i < n; i++) {
        if (!stream.write(payload)) await onceEvent(stream, 'drain')
      }
    },
    sendNote: 'one stream.write per message, waiting for drain',
    close: async () => { stream.destroy() }
  }
}

export function hyperswarmImpl (): Impl {
  return {
    name: 'hyperswarm',
    serve: async (opts: ServeOptions): Promise<ServerHandle> => {
      const keyPair = NoiseSecretStream.keyPair()
      let received = 0
      const streams = new Set<NoiseSecretStream>()
      const server = createServer({ noDelay: true }, (socket: Socket) => {
        const stream = new NoiseSecretStream(false, socket, { keyPair })
        streams.add(stream)
        stream.on('error', () => {})
        stream.on('close', () => streams.delete(stream))
        if (opts.mode === 'echo') stream.on('data', (msg: Buffer) => { stream.write(msg) })
        else stream.on('data', (msg: Buffer) => { received += msg.length })
      })
      return await listenLoopback(server, opts.maxPeers, streams, () => received)
    },
    connect: async (address) => {
      const stream = await open(address)
      await stream.opened
      return streamConn(stream)
    },
    fresh: async (address): Promise<FreshPeer> => {
      const keyPair = NoiseSecretStream.keyPair()
      let stream: NoiseSecretStream | undefined
      return {
        run: async (payload) => {
          stream = await open(address, keyPair)
          // The first message is queued until the handshake completes, as an application would write it.
          await streamConn(stream).request(payload)
        },
        dispose: async () => { stream?.destroy() }
      }
    }
  }
}
