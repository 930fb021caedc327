// Raw node:net with u32 big-endian length-prefixed frames: no crypto, the ceiling of the machine's loopback.
import { createServer, connect } from 'node:net'
import type { Socket } from 'node:net'
import { listenLoopback } from './tcp-listen.ts'
import { ReplyQueue, onceEvent } from './types.ts'
import type { ClientConn, FreshPeer, Impl, ServeOptions, ServerHandle } from './types.ts'

interface TcpAddress { host: string, port: number }

/** Splits a byte stream into length-prefixed frames (payloads are views into the input where possible). */
export class FrameSplitter {
  #pending: Buffer | undefined
  push (chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    const buf = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk])
    this.#pending = undefined
    let at = 0
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at)
      if (buf.length - at - 4 < len) break
      onFrame(buf.subarray(at + 4, at + 4 + len))
      at += 4 + len
    }
    if (at < buf.length) this.#pending = Buffer.from(buf.subarray(at))
  }
}

export function frame (payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length)
  out.writeUInt32BE(payload.length, 0)
  out.set(payload, 4)
  return out
}

/** `perWrite` frames joined into one buffer (the batched ceiling). */
function frames (payload: Uint8Array, perWrite: number): Buffer {
  const one = frame(payload)
  return Buffer.concat(new Array<Buffer>(perWrite).fill(one))
}

async function dialTcp (address: unknown): Promise<Socket> {
  const { host, port } = address as TcpAddress
  const socket = connect({ host, port, noDelay: true })
  await onceEvent(socket, 'connect')
  return socket
}

export async function writeAll (socket: Socket, buf: Buffer, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    if (!socket.write(buf)) await onceEvent(socket, 'drain')
  }
}

function rawConn (socket: Socket, perWrite: number): ClientConn {
  const replies = new ReplyQueue()
  const splitter = new FrameSplitter()
  let count = 0
  socket.on('data', (chunk: Buffer) => {
    count = 0
    splitter.push(chunk, () => { count++ })
    replies.complete(count)
  })
  return {
    request: (payload) => new Promise<void>(resolve => {
      replies.push(resolve)
      socket.write(frame(payload))
    }),
    sendMany: async (payload, n) => {
      if (perWrite === 1) return await writeAll(socket, frame(payload), n)
      await writeAll(socket, frames(payload, perWrite), Math.ceil(n / perWrite))
    },
    sendNote: perWrite === 1 ? 'one socket write per frame' : `${perWrite} frames per socket write`,
    close: async () => { socket.destroy() }
  }
}

export function rawImpl (perWrite = 1): Impl {
  return {
    name: perWrite === 1 ? 'raw' : 'raw-batched',
    serve: async (opts: ServeOptions): Promise<ServerHandle> => {
      let received = 0
      const sockets = new Set<Socket>()
      const server = createServer({ noDelay: true }, socket => {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        socket.on('error', () => {})
        const splitter = new FrameSplitter()
        if (opts.mode === 'echo') {
          socket.on('data', (chunk: Buffer) => { splitter.push(chunk, f => { socket.write(frame(f)) }) })
        } else {
          socket.on('data', (chunk: Buffer) => { splitter.push(chunk, f => { received += f.length }) })
        }
      })
      return await listenLoopback(server, opts.maxPeers, sockets, () => received)
    },
    connect: async (address) => rawConn(await dialTcp(address), perWrite),
    fresh: async (address): Promise<FreshPeer> => {
      let socket: Socket | undefined
      return {
        run: async (payload) => {
          socket = await dialTcp(address)
          await rawConn(socket, 1).request(payload)
        },
        dispose: async () => { socket?.destroy() }
      }
    }
  }
}
