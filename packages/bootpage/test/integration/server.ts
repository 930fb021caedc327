import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestServer {
  origin: string
  url: (path: string) => string
  /** Paths requested, in order. */
  requests: string[]
  close: () => Promise<void>
}

/** A real HTTP server on 127.0.0.1 and a free port. */
export async function startServer (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    handler(req, res)
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject).listen(0, '127.0.0.1', resolve) })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    url: (path) => `${origin}${path}`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

/** A URL on 127.0.0.1 where nothing listens (a server started, then closed). */
export async function deadUrl (): Promise<string> {
  const s = await startServer((_req, res) => { res.end() })
  await s.close()
  return s.url('/bootpage.json')
}

/** A clock the test moves by hand. */
export function manualClock (): { now: () => number, monotonic: () => number, advance: (ms: number) => void } {
  let offset = 0
  const start = Date.now()
  return { now: () => start + offset, monotonic: () => offset, advance: (ms) => { offset += ms } }
}
