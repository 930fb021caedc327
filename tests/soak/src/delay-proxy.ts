#!/usr/bin/env node
// A delaying TCP proxy: the soak's latency and jitter, since this kernel has no netem. Each chunk is held a
// random time in [minMs, maxMs] but never overtakes the chunk before it (TCP keeps its order; reordering
// between messages comes from their taking different paths: direct, a fast relay, this slow one).
// `delay-proxy LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT MIN_MS MAX_MS`; the parent changes the delay
// over IPC with {op:'delay',minMs,maxMs}. Reading pauses while MAX_HELD_BYTES per direction are held.
import { connect, createServer } from 'node:net'
import type { Socket } from 'node:net'

export const MAX_HELD_BYTES = 1 << 20

const [listenHost, listenPort, targetHost, targetPort, min, max] = process.argv.slice(2)
let minMs = Number(min ?? '0')
let maxMs = Number(max ?? '0')

function delayed (from: Socket, to: Socket): void {
  // One FIFO and one timer per direction: chunks leave strictly in arrival order.
  const queue: Array<{ chunk: Buffer, at: number }> = []
  let held = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let ended = false
  const flush = (): void => {
    timer = undefined
    while (queue.length > 0 && queue[0]!.at <= Date.now()) {
      const { chunk } = queue.shift()!
      held -= chunk.length
      if (!to.destroyed) to.write(chunk)
    }
    if (held <= MAX_HELD_BYTES && from.isPaused()) from.resume()
    if (queue.length > 0) timer = setTimeout(flush, queue[0]!.at - Date.now())
    else if (ended) to.end()
  }
  from.on('data', (chunk: Buffer) => {
    const last = queue.at(-1)?.at ?? 0
    queue.push({ chunk, at: Math.max(Date.now() + minMs + Math.random() * (maxMs - minMs), last) })
    held += chunk.length
    if (held > MAX_HELD_BYTES) from.pause()
    timer ??= setTimeout(flush, queue[0]!.at - Date.now())
  })
  from.on('end', () => {
    ended = true
    if (queue.length === 0) to.end()
  })
}

const server = createServer({ pauseOnConnect: true }, (client) => {
  const upstream = connect({ host: targetHost!, port: Number(targetPort) })
  const close = (): void => { client.destroy(); upstream.destroy() }
  client.on('error', close).on('close', close)
  upstream.on('error', close).on('close', close)
  upstream.on('connect', () => {
    delayed(client, upstream)
    delayed(upstream, client)
    client.resume()
  })
})
server.listen(Number(listenPort), listenHost, () => {
  process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`)
})
process.on('message', (raw) => {
  const m = raw as { op: string, id?: number, minMs?: number, maxMs?: number }
  if (m.op === 'delay' && typeof m.minMs === 'number' && typeof m.maxMs === 'number' && m.maxMs >= m.minMs) {
    minMs = m.minMs
    maxMs = m.maxMs
  }
  if (m.id !== undefined) process.send?.({ op: 'result', id: m.id, ok: true })
})
process.on('SIGTERM', () => { server.close(); process.exit(0) })
process.on('disconnect', () => { process.exit(0) })
