import { isEgtpError } from '@egtp/interface'
import type { CloseDetail, Conn, Listener, TcpEndpoint, Transport } from '@egtp/interface'
import { describe, expect, test } from 'vitest'

/** A transport to test, and what the suite needs to know about it. */
export interface TransportUnderTest {
  transport: Transport
  /** Where to listen: a host the transport binds, port 0. */
  listenAt: TcpEndpoint
  /** The largest frame its connections carry: one byte more fails with `ERR_FRAME_TOO_LARGE`. */
  maxFrameBytes: number
  /** Close what the suite opened (listeners and connections it did not close itself). */
  teardown: () => Promise<void>
}

export interface TransportComplianceOptions {
  /** How long to wait for a frame or an event; default 5000 ms. */
  arriveWithinMs?: number
}

const messagesOf = (conn: Conn): Uint8Array[] => {
  const got: Uint8Array[] = []
  conn.addEventListener('message', ({ detail }) => { got.push(detail) })
  return got
}

const closeOf = (conn: Conn): Promise<CloseDetail> =>
  new Promise(resolve => { conn.addEventListener('close', ({ detail }) => { resolve(detail) }, { once: true }) })

const nextConnection = (listener: Listener): Promise<Conn> =>
  new Promise(resolve => { listener.addEventListener('connection', ({ detail }) => { resolve(detail) }, { once: true }) })

/** Declare the compliance tests of one `Transport`; `setup` runs once per test and `teardown` after it. */
export function transportCompliance (name: string, setup: () => Promise<TransportUnderTest>, options: TransportComplianceOptions = {}): void {
  const poll = { timeout: options.arriveWithinMs ?? 5000, interval: 5 }

  describe(`${name}: Transport compliance`, () => {
    const withTransport = async (fn: (t: TransportUnderTest) => Promise<void>): Promise<void> => {
      const t = await setup()
      try {
        await fn(t)
      } finally {
        await t.teardown()
      }
    }

    /** A listener and one dialed connection, both ends. */
    const connected = async ({ transport, listenAt }: TransportUnderTest): Promise<{ listener: Listener, client: Conn, server: Conn }> => {
      const listener = await transport.listen(listenAt)
      const accepted = nextConnection(listener)
      const client = await transport.dial(listener.address())
      return { listener, client, server: await accepted }
    }

    test('listen on port 0 binds a free port; a dialed connection carries frames both ways, in order', () => withTransport(async t => {
      const { listener, client, server } = await connected(t)
      expect(listener.address().port).toBeGreaterThan(0)
      expect(client.direction).toBe('outbound')
      expect(server.direction).toBe('inbound')
      expect(client.remoteAddress).toMatch(/:\d+$/)
      expect(server.remoteAddress).toMatch(/:\d+$/)
      const atServer = messagesOf(server)
      const atClient = messagesOf(client)
      for (let i = 0; i < 20; i++) await client.send(Uint8Array.of(i))
      await server.send(Uint8Array.of(100))
      await server.send(new Uint8Array(0))
      await expect.poll(() => atServer.length + atClient.length, poll).toBe(22)
      expect(atServer).toEqual(Array.from({ length: 20 }, (_, i) => Uint8Array.of(i)))
      expect(atClient).toEqual([Uint8Array.of(100), new Uint8Array(0)])
    }))

    test('a frame sent as pieces arrives as one; maxFrameBytes passes whole, one byte more fails with ERR_FRAME_TOO_LARGE', () => withTransport(async t => {
      const { client, server } = await connected(t)
      const atServer = messagesOf(server)
      const big = new Uint8Array(t.maxFrameBytes).map((_, i) => i * 7)
      await client.send([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)])
      await client.send([big.subarray(0, 1000), big.subarray(1000)])
      await expect(client.send(new Uint8Array(t.maxFrameBytes + 1))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
      await expect(client.send([big, Uint8Array.of(1)])).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
      await expect.poll(() => atServer.length, poll).toBe(2)
      expect(atServer[0]).toEqual(Uint8Array.of(1, 2, 3))
      expect(Buffer.compare(atServer[1]!, big)).toBe(0) // (toEqual walks a large array element by element: slow)
      expect(client.closed).toBe(false)
    }))

    test('a second listener on a taken address fails with ERR_ADDRESS_IN_USE', () => withTransport(async ({ transport, listenAt }) => {
      const first = await transport.listen(listenAt)
      const err = await transport.listen(first.address()).catch((e: unknown) => e)
      expect(isEgtpError(err, 'ERR_ADDRESS_IN_USE')).toBe(true)
    }))

    test('a dial where nobody listens fails fast with ERR_UNREACHABLE, not after connectTimeoutMs', () => withTransport(async ({ transport, listenAt }) => {
      const listener = await transport.listen(listenAt)
      const dead = listener.address()
      await listener.close()
      // connectTimeoutMs is longer than any test timeout: only a fast failure can pass
      const err = await transport.dial(dead, { connectTimeoutMs: 3_600_000 }).catch((e: unknown) => e)
      expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    }))

    test('an aborted dial or listen rethrows the signal reason untouched, also while connecting', () => withTransport(async ({ transport, listenAt }) => {
      const listener = await transport.listen(listenAt)
      const controller = new AbortController()
      const reason = new DOMException('changed my mind', 'AbortError')
      const pending = transport.dial(listener.address(), { signal: controller.signal })
      controller.abort(reason)
      await expect(pending).rejects.toBe(reason)
      const already = AbortSignal.abort()
      await expect(transport.dial(listener.address(), { signal: already })).rejects.toBe(already.reason)
      await expect(transport.listen(listenAt, { signal: already })).rejects.toBe(already.reason)
    }))

    test('close() is graceful: queued frames arrive, then both ends close; sends fail with ERR_CLOSED; idempotent', () => withTransport(async t => {
      const { client, server } = await connected(t)
      const atServer = messagesOf(server)
      const serverClosed = closeOf(server)
      const clientClosed = closeOf(client)
      const sends = Array.from({ length: 5 }, async (_, i) => { await client.send(Uint8Array.of(i)) })
      await Promise.all([client.close(), client.close(), ...sends])
      expect(client.closed).toBe(true)
      expect(await clientClosed).toEqual({ local: true })
      expect(await serverClosed).toEqual({ local: false })
      expect(atServer).toEqual(Array.from({ length: 5 }, (_, i) => Uint8Array.of(i)))
      await expect(client.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await expect(server.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      client.abort(new Error('late')) // a no-op once closed
      await client.close()
    }))

    test('abort(err) closes at once with that error; the other end sees a remote close', () => withTransport(async t => {
      const { client, server } = await connected(t)
      const clientClosed = closeOf(client)
      const serverClosed = closeOf(server)
      const err = new Error('enough')
      client.abort(err)
      expect(client.closed).toBe(true)
      expect(await clientClosed).toEqual({ error: err, local: true })
      expect((await serverClosed).local).toBe(false)
    }))

    test('closing a listener dispatches close, closes the connections it accepted and frees the port', () => withTransport(async t => {
      const { listener, client } = await connected(t)
      const clientClosed = closeOf(client)
      const listenerClosed = new Promise<CloseDetail>(resolve => { listener.addEventListener('close', ({ detail }) => { resolve(detail) }, { once: true }) })
      await Promise.all([listener.close(), listener.close()])
      expect(await listenerClosed).toEqual({ local: true })
      await clientClosed
      const err = await t.transport.dial(listener.address()).catch((e: unknown) => e)
      expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
      const again = await t.transport.listen(listener.address())
      expect(again.address().port).toBe(listener.address().port)
    }))
  })
}
