// A diagnostic, not part of the suite: the echo scenario's round trip split at its system calls, from the kernel's
// own timestamps (Linux `perf` tracepoints on read, write and epoll_pwait), so nothing is added to the processes
// measured (the critical-path preload wraps Node's internals and reads the clock twice per read and per write).
//
//   node tests/bench/dist/syscall-path.js [--only raw,hyperswarm,egtp] [--egtp-from DIR]
//
// For each implementation it runs `cli.js --only echo --only NAME --rounds 1` under `perf record`, keeps the
// events of the measured window (WINDOW_FROM..WINDOW_TO of the trace: after start-up and warm-up, before the
// teardown) and prints, per side, the mean µs per socket write between consecutive system calls: from a read's
// return to the next write's start (the work the peer waits for on this side, all user space), the write call
// (send(2) on loopback also delivers the bytes and wakes the peer), from the write's return to the next poll, the
// time asleep in epoll_pwait, and from its return (with events) to the next read's start. Needs `perf` and the
// right to trace (root, or perf_event_paranoid ≤ -1).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

/** The trace's share kept: the echo scenario warms up for as long as it measures, after ~0.5 s of start-up. */
export const WINDOW_FROM = 0.7
export const WINDOW_TO = 0.9
const TRACEPOINTS = ['read', 'write', 'epoll_pwait'].flatMap(s => [`syscalls:sys_enter_${s}`, `syscalls:sys_exit_${s}`])
const IMPLEMENTATIONS = ['raw', 'hyperswarm', 'egtp']

export interface SyscallEvent {
  pid: number
  tid: number
  /** µs */
  time: number
  enter: boolean
  call: string
  /** A sys_exit's return value (negative: an error); NaN for an entry. */
  result: number
}

/** A return value as perf prints it: 64-bit hex, an error as its two's complement (-EAGAIN is 0xff…f5). */
function signedResult (hex: string): number {
  try {
    return Number(BigInt.asIntN(64, BigInt(hex.startsWith('0x') ? hex : `0x${hex}`)))
  } catch {
    return Number.NaN
  }
}

/** One line of `perf script -F pid,tid,time,event,trace`, or undefined when it is not a system-call event. */
export function parseTraceLine (line: string): SyscallEvent | undefined {
  const m = /^\s*(\d+)\/(\d+)\s+([\d.]+):\s+syscalls:sys_(enter|exit)_(\w+):\s*(\S*)/.exec(line)
  if (m === null) return undefined
  return {
    pid: Number(m[1]),
    tid: Number(m[2]),
    time: Number(m[3]) * 1e6,
    enter: m[4] === 'enter',
    call: m[5]!,
    result: m[4] === 'exit' ? signedResult(m[6]!) : Number.NaN
  }
}

export interface SidePath {
  pid: number
  tid: number
  writes: number
  /** Mean µs per write from a read's return (with data) to the next write's start. */
  readToWrite: number
  /** Mean µs per write inside write(2). */
  writeCall: number
  /** Mean µs per write from a write's return to the next epoll_pwait. */
  writeToPoll: number
  /** µs per write asleep in (or inside) epoll_pwait. */
  inPoll: number
  /** Mean µs per write from epoll_pwait's return with events to the next read's start. */
  pollToRead: number
}

/**
 * The busiest threads' paths over the window (fractions of the events' time span), busiest first. A read that
 * returned nothing or an error is not the start of a read → write pair.
 */
export function sidePaths (events: readonly SyscallEvent[], from = WINDOW_FROM, to = WINDOW_TO, threads = 2): SidePath[] {
  if (events.length === 0) return []
  const t0 = events[0]!.time
  const span = events[events.length - 1]!.time - t0
  const lo = t0 + span * from
  const hi = t0 + span * to
  const byTid = new Map<number, SyscallEvent[]>()
  for (const e of events) {
    if (e.time < lo || e.time > hi) continue
    let list = byTid.get(e.tid)
    if (list === undefined) byTid.set(e.tid, list = [])
    list.push(e)
  }
  const busiest = [...byTid.values()].sort((a, b) => b.length - a.length).slice(0, threads)
  return busiest.map(list => {
    let writes = 0
    let readToWrite = 0
    let writeCall = 0
    let writeToPoll = 0
    let inPoll = 0
    let pollToRead = 0
    let readAt: number | undefined
    let writeAt: number | undefined
    let writeEndedAt: number | undefined
    let pollAt: number | undefined
    let wokeAt: number | undefined
    for (const e of list) {
      if (e.call === 'read' && e.enter) {
        if (wokeAt !== undefined) pollToRead += e.time - wokeAt
        wokeAt = undefined
      } else if (e.call === 'read' && !e.enter) {
        if (e.result > 0) readAt = e.time // (one that found nothing, as libuv's last read of a burst, changes nothing)
      } else if (e.call === 'write' && e.enter) {
        writes++
        writeAt = e.time
        if (readAt !== undefined) readToWrite += e.time - readAt
        readAt = undefined
      } else if (e.call === 'write' && !e.enter && writeAt !== undefined) {
        writeCall += e.time - writeAt
        writeEndedAt = e.time
        writeAt = undefined
      } else if (e.call === 'epoll_pwait' && e.enter) {
        pollAt = e.time
        if (writeEndedAt !== undefined) writeToPoll += e.time - writeEndedAt
        writeEndedAt = undefined
      } else if (e.call === 'epoll_pwait' && !e.enter && pollAt !== undefined) {
        inPoll += e.time - pollAt
        pollAt = undefined
        wokeAt = e.result > 0 ? e.time : undefined
      }
    }
    const per = (us: number): number => writes === 0 ? Number.NaN : us / writes
    return { pid: list[0]!.pid, tid: list[0]!.tid, writes, readToWrite: per(readToWrite), writeCall: per(writeCall), writeToPoll: per(writeToPoll), inPoll: per(inPoll), pollToRead: per(pollToRead) }
  })
}

/** Trace one implementation's echo scenario; its events in time order. */
async function trace (implementation: string, egtpFrom: string | undefined, dir: string): Promise<SyscallEvent[]> {
  const data = join(dir, `${implementation}.perf`)
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url))
  const args = ['record', '-q', '-o', data, ...TRACEPOINTS.flatMap(t => ['-e', t]), '--', process.execPath, cli, '--only', 'echo', '--only', implementation, '--rounds', '1']
  if (egtpFrom !== undefined) args.push('--egtp-from', egtpFrom)
  const recorded = spawnSync('perf', args, { stdio: ['ignore', 'ignore', 'inherit'] })
  if (recorded.status !== 0) throw new Error(`perf record exited with ${recorded.status ?? recorded.signal}`)
  const script = spawn('perf', ['script', '-i', data, '-F', 'pid,tid,time,event,trace'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const exited = new Promise<number | null>(resolve => { script.once('close', resolve) })
  const events: SyscallEvent[] = []
  for await (const line of createInterface({ input: script.stdout })) {
    const e = parseTraceLine(line)
    if (e !== undefined) events.push(e)
  }
  const code = await exited
  if (code !== 0) throw new Error(`perf script exited with ${code}`)
  if (events.length === 0) throw new Error(`no system-call events traced for ${implementation} (tracepoints not readable?)`)
  return events
}

async function main (): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string', multiple: true }, 'egtp-from': { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help === true) {
    process.stdout.write('Usage: node tests/bench/dist/syscall-path.js [--only raw,hyperswarm,egtp] [--egtp-from DIR]\n' +
      'The echo scenario split at its system calls (Linux perf tracepoints; root or perf_event_paranoid <= -1).\n')
    return 0
  }
  const only = (values.only ?? []).flatMap(v => v.split(',')).filter(v => v !== '')
  const implementations = only.length > 0 ? only : IMPLEMENTATIONS
  if (spawnSync('perf', ['--version']).status !== 0) {
    process.stderr.write('syscall-path: needs Linux perf on the PATH\n')
    return 2
  }
  const dir = mkdtempSync(join(tmpdir(), 'egtp-syscall-path-'))
  try {
    const rows: string[] = []
    for (const implementation of implementations) {
      const events = await trace(implementation, values['egtp-from'], dir)
      // The bench process (the client) makes the trace's first system calls; its server is a child forked later.
      const clientPid = events[0]?.pid
      for (const side of sidePaths(events)) {
        const f = (us: number): string => us.toFixed(2)
        rows.push(`| ${implementation} | ${side.pid === clientPid ? 'client' : 'server'} | ${side.writes} | ${f(side.readToWrite)} | ${f(side.writeCall)} | ${f(side.writeToPoll)} | ${f(side.inPoll)} | ${f(side.pollToRead)} |`)
      }
    }
    process.stdout.write(`echo, 1 in flight, split at system calls (kernel timestamps; ${WINDOW_FROM * 100}–${WINDOW_TO * 100} % of each trace), µs per write:\n\n` +
      '| implementation | side | writes | read → write | write call | write → poll | in epoll_pwait | poll → read |\n|---|---|---:|---:|---:|---:|---:|---:|\n' +
      rows.join('\n') + '\n')
    return 0
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(code => { process.exitCode = code }, (err: unknown) => {
    process.stderr.write(`syscall-path: ${(err as Error).message}\n`)
    process.exitCode = 1
  })
}
