// The IPC control channel of a node started with child_process.fork: the demo and the end-to-end tests
// drive nodes through it. Commands and answers are plain JSON objects; records travel as base64.
import { decodeContactRecord } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import type { EgtpNode, MemoryDirectory } from '@egtp/node'

export type ControlCommand =
  | { op: 'addContact', record: string }
  | { op: 'query', id: number, peer: string, type: string, payload: unknown, timeoutMs?: number }
  | { op: 'send', id: number, peer: string, type: string, payload: unknown, timeoutMs?: number }
  | { op: 'stats', id: number }
  | { op: 'record', id: number }
  | { op: 'stop' }

function answer (id: number, work: Promise<unknown>): void {
  work.then(
    (value) => { process.send?.({ op: 'result', id, ok: true, value }) },
    (err: unknown) => {
      process.send?.({
        op: 'result',
        id,
        ok: false,
        code: isEgtpError(err) ? err.code : (err as Error).name,
        message: (err as Error).message
      })
    }
  )
}

export function attachControl (node: EgtpNode, directory: MemoryDirectory, stop: () => void, record: () => string): void {
  process.on('message', (raw) => {
    const cmd = raw as ControlCommand
    switch (cmd.op) {
      case 'addContact':
        directory.announce(decodeContactRecord(Buffer.from(cmd.record, 'base64'))).catch(() => {})
        break
      case 'query':
        answer(cmd.id, node.query(cmd.peer, cmd.type, cmd.payload, cmd.timeoutMs !== undefined ? { timeoutMs: cmd.timeoutMs } : {}))
        break
      case 'send':
        answer(cmd.id, node.send(cmd.peer, cmd.type, cmd.payload, cmd.timeoutMs !== undefined ? { timeoutMs: cmd.timeoutMs } : {}))
        break
      case 'stats':
        answer(cmd.id, Promise.resolve(JSON.parse(JSON.stringify(node.stats()))))
        break
      case 'record':
        answer(cmd.id, Promise.resolve(record()))
        break
      case 'stop':
        stop()
        break
    }
  })
  // The parent going away ends this node too.
  process.on('disconnect', stop)
}
