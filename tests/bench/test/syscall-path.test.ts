// The syscall-path diagnostic's arithmetic, on a trace written out by hand in `perf script`'s format (running perf
// itself needs the right to trace, which CI does not have).
import { describe, expect, test } from 'vitest'
import { parseTraceLine, sidePaths } from '../src/syscall-path.ts'

/** A server thread answering each read with one write, then polling; 10 µs between its steps, 30 µs asleep. */
function exchange (pid: number, startUs: number): string[] {
  const at = (us: number): string => ((startUs + us) / 1e6).toFixed(6)
  return [
    ` ${pid}/${pid}   ${at(0)}:     syscalls:sys_exit_epoll_pwait: 0x1`,
    ` ${pid}/${pid}   ${at(1)}:        syscalls:sys_enter_read: fd: 0x00000014, buf: 0x7f, count: 0x00010000`,
    ` ${pid}/${pid}   ${at(2)}:         syscalls:sys_exit_read: 0xbe`,
    ` ${pid}/${pid}   ${at(7)}:       syscalls:sys_enter_write: fd: 0x00000014, buf: 0x7f, count: 0x000000be`,
    ` ${pid}/${pid}   ${at(19)}:        syscalls:sys_exit_write: 0xbe`,
    // a read that finds nothing more (EAGAIN) starts no pair
    ` ${pid}/${pid}   ${at(20)}:         syscalls:sys_exit_read: 0xfffffffffffffff5`,
    ` ${pid}/${pid}   ${at(21)}: syscalls:sys_enter_epoll_pwait: epfd: 0x0000000e, events: 0x7f, maxevents: 0x00000400, timeout: 0xffffffff`
  ]
}

describe('syscall-path (a diagnostic)', () => {
  test('parses perf script lines and skips everything else', () => {
    expect(parseTraceLine(' 6831/6833   8114.918684:         syscalls:sys_exit_read: 0x340')).toEqual({
      pid: 6831, tid: 6833, time: 8114918684, enter: false, call: 'read', result: 0x340
    })
    expect(parseTraceLine(' 6831/6831   8114.918722:        syscalls:sys_enter_read: fd: 0x00000003, buf: 0x7ffd, count: 0x00000340'))
      .toMatchObject({ enter: true, call: 'read' })
    expect(Number.isNaN(parseTraceLine(' 1/1 1.000001: syscalls:sys_enter_write: fd: 0x1')!.result)).toBe(true)
    expect(parseTraceLine('node  1234 [000] cycles: ffffffff')).toBeUndefined()
    expect(parseTraceLine('')).toBeUndefined()
  })

  test('splits each write of the busiest threads into read → write, the call, write → poll and the poll', () => {
    const lines: string[] = []
    for (let i = 0; i < 100; i++) {
      lines.push(...exchange(200, 1_000_000 + i * 60))
      // a quieter thread of another process: one write per exchange, no read before it
      if (i % 2 === 0) lines.push(` 300/300   ${((1_000_000 + i * 60 + 5) / 1e6).toFixed(6)}:       syscalls:sys_enter_write: fd: 0x1`)
    }
    const events = lines.map(parseTraceLine).filter(e => e !== undefined).sort((a, b) => a.time - b.time)
    const [busiest, quieter, ...rest] = sidePaths(events, 0, 1)
    expect(rest).toHaveLength(0)
    expect(busiest).toMatchObject({ pid: 200, tid: 200, writes: 100 })
    expect(busiest!.readToWrite).toBeCloseTo(5, 3)
    expect(busiest!.writeCall).toBeCloseTo(12, 3)
    expect(busiest!.writeToPoll).toBeCloseTo(2, 3)
    // asleep from each poll (21 µs into an exchange) to the next exchange's wake-up (60 µs later): 39 µs, but the
    // last poll of the trace never returns
    expect(busiest!.inPoll).toBeCloseTo(39 * 99 / 100, 3)
    expect(busiest!.pollToRead).toBeCloseTo(99 / 100, 3) // 1 µs each; the first wake-up has no poll before it
    expect(quieter).toMatchObject({ pid: 300, writes: 50, readToWrite: 0 })
  })

  test('a read that returned nothing (EAGAIN, end of file) starts no read → write pair', () => {
    const write = (result: string): ReturnType<typeof sidePaths> => sidePaths([
      ' 9/9 1.000000: syscalls:sys_exit_read: ' + result,
      ' 9/9 1.000010: syscalls:sys_enter_write: fd: 0x14',
      ' 9/9 1.000011: syscalls:sys_exit_write: 0xbe'
    ].map(l => parseTraceLine(l)!), 0, 1)
    expect(write('0x40')[0]!.readToWrite).toBeCloseTo(10, 3)
    expect(write('0xfffffffffffffff5')[0]!.readToWrite).toBe(0)
    expect(write('0x0')[0]!.readToWrite).toBe(0)
    // nor does it end one: the pair runs from the last read that brought bytes
    const [side] = sidePaths([
      ' 9/9 1.000000: syscalls:sys_exit_read: 0x40',
      ' 9/9 1.000002: syscalls:sys_exit_read: 0xfffffffffffffff5',
      ' 9/9 1.000010: syscalls:sys_enter_write: fd: 0x14'
    ].map(l => parseTraceLine(l)!), 0, 1)
    expect(side!.readToWrite).toBeCloseTo(10, 3)
    expect(parseTraceLine(' 9/9 1.000002: syscalls:sys_exit_read: 0xfffffffffffffff5')!.result).toBe(-11)
  })

  test('keeps only the window asked for', () => {
    const lines: string[] = []
    for (let i = 0; i < 100; i++) lines.push(...exchange(200, 1_000_000 + i * 60))
    const events = lines.map(parseTraceLine).filter(e => e !== undefined)
    const [side] = sidePaths(events, 0.5, 1)
    expect(side!.writes).toBeGreaterThanOrEqual(49)
    expect(side!.writes).toBeLessThanOrEqual(51)
    expect(sidePaths([], 0, 1)).toEqual([])
  })
})
