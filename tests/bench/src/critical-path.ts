// A diagnostic preload, not part of the suite: for each TCP socket of a process, the time from a read's arrival to
// the start of the next write on that socket (the work a request/response waits for on this side), and the time
// the write call itself takes (Node's write path and the send(2) that hands the bytes to the peer's socket).
//
//   NODE_OPTIONS="--import $PWD/tests/bench/dist/critical-path.js" \
//     node tests/bench/dist/cli.js --only echo --only raw,hyperswarm,egtp --rounds 1
//
// Every process (the bench and its forked servers) prints one line per socket that saw more than
// MIN_REPORTED_PAIRS read→write pairs, when it exits, on stderr. It wraps `net.Socket.prototype._writeGeneric` and
// the read callback (Node's `onread` buffer callback, else `push`): Node 20's internals, so it reports nothing
// where they differ. It costs two clock reads per read and per write.
import net from 'node:net'
import { basename } from 'node:path'

/** Sockets with fewer read→write pairs are not reported (connections of setup and control). */
const MIN_REPORTED_PAIRS = 1000
/** The latest pairs kept per socket (the steady state, after warm-up). */
const KEPT_PAIRS = 100_000

interface SocketTimes {
  readAt: number
  readonly readToWrite: number[]
  readonly writeCall: number[]
  wrapped: boolean
  writes: number
}

type WriteGeneric = (this: net.Socket, writev: boolean, data: unknown, encoding: string, cb: (err?: Error) => void) => unknown
type Instrumented = net.Socket & { [TIMES]?: SocketTimes } & Record<symbol, unknown>

const TIMES = Symbol('egtp.bench.criticalPath')
const now = performance.now.bind(performance)
const sockets: SocketTimes[] = []
const proto = net.Socket.prototype as unknown as { _writeGeneric?: WriteGeneric }
const writeGeneric = proto._writeGeneric

/** Times reads from the next one on: the `onread` buffer callback when the socket has one, else `push`. */
function wrapReads (socket: Instrumented, times: SocketTimes): void {
  const callbackKey = Object.getOwnPropertySymbols(socket).find(s => s.description === 'kBufferCb')
  const callback = callbackKey === undefined ? undefined : socket[callbackKey]
  if (callbackKey !== undefined && typeof callback === 'function') {
    socket[callbackKey] = function (this: unknown, ...args: unknown[]) {
      times.readAt = now()
      return (callback as (...a: unknown[]) => unknown).apply(this, args)
    }
    times.wrapped = true
  } else if (times.writes > 10) { // (a socket whose `onread` callback is set after its first writes is not wrapped twice)
    const push = socket.push
    socket.push = function (this: net.Socket, ...args: Parameters<net.Socket['push']>) {
      times.readAt = now()
      return push.apply(this, args)
    }
    times.wrapped = true
  }
}

function keep (list: number[], value: number): void {
  if (list.length >= KEPT_PAIRS) list.splice(0, KEPT_PAIRS / 2)
  list.push(value)
}

if (typeof writeGeneric === 'function') {
  proto._writeGeneric = function (this: net.Socket, writev, data, encoding, cb) {
    const socket = this as Instrumented
    let times = socket[TIMES]
    if (times === undefined) {
      if ((this as unknown as { _handle?: { constructor?: { name?: string } } })._handle?.constructor?.name !== 'TCP') return writeGeneric.call(this, writev, data, encoding, cb)
      times = { readAt: -1, readToWrite: [], writeCall: [], wrapped: false, writes: 0 }
      socket[TIMES] = times
      sockets.push(times)
    }
    times.writes++
    if (!times.wrapped) wrapReads(socket, times)
    const start = now()
    const result = writeGeneric.call(this, writev, data, encoding, cb)
    const end = now()
    if (times.readAt >= 0) {
      keep(times.readToWrite, start - times.readAt)
      keep(times.writeCall, end - start)
      times.readAt = -1
    }
    return result
  }
  process.on('exit', report)
}

/** The median, p90 and p99 of `values`. */
function quantiles (values: number[]): [number, number, number] {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN
  return [at(0.5), at(0.9), at(0.99)]
}

/**
 * The later half of `values`: the suite warms a connection up for as long as it times it, and a cold process's
 * first thousands of round trips (V8 compiling) would make most of the tail.
 */
function later (values: number[]): number[] {
  return values.slice(values.length >> 1)
}

function mean (values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length
}

function report (): void {
  const who = `${basename(process.argv[1] ?? 'node')} ${process.argv.slice(2).join(' ')}`.trim()
  const us = (ms: number): string => (ms * 1000).toFixed(1)
  const figures = (values: number[]): string => {
    const [p50, p90, p99] = quantiles(values)
    return `median ${us(p50)} µs (mean ${us(mean(values))}, p90 ${us(p90)}, p99 ${us(p99)})`
  }
  for (const t of sockets) {
    if (t.readToWrite.length < MIN_REPORTED_PAIRS) continue
    process.stderr.write(`critical path [${who}] pid ${process.pid}: ${t.readToWrite.length} read→write pairs, the later half: ` +
      `read→write ${figures(later(t.readToWrite))}, write call ${figures(later(t.writeCall))}\n`)
  }
}
