// js-libp2p 3.3: TCP + Noise + yamux, one stream per peer. Streams are byte streams (messages may merge or
// split), so replies and one-way messages are counted in bytes.
import './promise-with-resolvers.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { ReplyQueue } from './types.ts'
import type { ClientConn, FreshPeer, Impl, ServeOptions, ServerHandle } from './types.ts'

const PROTOCOL = '/egtp-bench/1'
type Stream = Awaited<ReturnType<Libp2p['dialProtocol']>>

async function node (listen: string[], maxConnections: number): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // The gater refuses more than 5 inbound connections per second per host by default: loopback benches
      // open hundreds.
      inboundConnectionThreshold: 1e9,
      maxIncomingPendingConnections: 1e6,
      maxConnections,
      // Thousands of peers set up at once on 2 shared cores: handshakes can take longer than the 5-10 s defaults.
      dialTimeout: 60_000,
      addressDialTimeout: 60_000,
      inboundUpgradeTimeout: 60_000,
      inboundStreamProtocolNegotiationTimeout: 60_000,
      outboundStreamProtocolNegotiationTimeout: 60_000
    },
    // The monitor pings every connection, and nothing here serves ping.
    connectionMonitor: { enabled: false }
  })
}

function streamConn (stream: Stream): ClientConn {
  const replies = new ReplyQueue()
  const sizes: number[] = [] // expected reply lengths, oldest first: each reply is as long as its request
  let head = 0
  let bytes = 0
  stream.addEventListener('message', (evt) => {
    bytes += evt.data.length
    let n = 0
    while (head < sizes.length && bytes >= sizes[head]!) {
      bytes -= sizes[head++]!
      n++
    }
    if (head > 1024 && head * 2 > sizes.length) {
      sizes.splice(0, head)
      head = 0
    }
    replies.complete(n)
  })
  return {
    request: (payload) => new Promise<void>(resolve => {
      replies.push(resolve)
      sizes.push(payload.length)
      stream.send(payload)
    }),
    sendMany: async (payload, n) => {
      for (let i = 0; i < n; i++) {
        // In 3.x onDrain() resolves at once after the first drain: wait for the event itself.
        if (!stream.send(payload)) await new Promise(resolve => { stream.addEventListener('drain', resolve, { once: true }) })
      }
    },
    sendNote: "one stream.send per message, waiting for 'drain'",
    close: async () => { stream.abort(new Error('closed')) }
  }
}

export function libp2pImpl (): Impl {
  return {
    name: 'libp2p',
    serve: async (opts: ServeOptions): Promise<ServerHandle> => {
      const server = await node(['/ip4/127.0.0.1/tcp/0'], opts.maxPeers + 100)
      let received = 0
      await server.handle(PROTOCOL, (stream) => {
        if (opts.mode === 'echo') stream.addEventListener('message', (evt) => { stream.send(evt.data) })
        else stream.addEventListener('message', (evt) => { received += evt.data.length })
      }, { maxInboundStreams: 1024 })
      return {
        address: server.getMultiaddrs()[0]!.toString(),
        receivedBytes: () => received,
        stop: async () => { await server.stop() }
      }
    },
    connect: async (address) => {
      const client = await node([], 100)
      const stream = await client.dialProtocol(multiaddr(address as string), PROTOCOL)
      const conn = streamConn(stream)
      return { ...conn, close: async () => { await conn.close(); await client.stop() } }
    },
    fresh: async (address): Promise<FreshPeer> => {
      const client = await node([], 100)
      return {
        run: async (payload) => {
          const stream = await client.dialProtocol(multiaddr(address as string), PROTOCOL)
          await streamConn(stream).request(payload)
        },
        dispose: async () => { await client.stop() }
      }
    }
  }
}
