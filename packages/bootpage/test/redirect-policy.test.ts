import { isEgtpError } from '@egtp/interface'
import { expect, test } from 'vitest'
import { createBootpageLoader } from '../src/index.ts'
import type { FetchFunction } from '../src/index.ts'
import { fixture } from './helpers.ts'

// The one redirect rule the socket tests cannot reach without a trusted TLS certificate: https → http. The
// loader's injectable `fetch` answers here with real `Response` objects; everything else about redirects is
// tested over real HTTP in test/integration/loader.test.ts.
test('a redirect from https down to http is refused; https → https is followed', async () => {
  const { signer, page } = fixture()
  const asked: string[] = []
  const fetch: FetchFunction = async (url) => {
    asked.push(url.href)
    if (url.href === 'https://a.example/down') return new Response(null, { status: 301, headers: { location: 'http://b.example/page' } })
    if (url.href === 'https://a.example/up') return new Response(null, { status: 308, headers: { location: 'https://b.example/page' } })
    if (url.href === 'https://b.example/page') return new Response(page, { status: 200 })
    return new Response('no', { status: 404 })
  }
  const down = createBootpageLoader({ urls: ['https://a.example/down'], key: signer.nodeId, fetch })
  const err = await down.load().then(() => undefined, (e: unknown) => e)
  expect(isEgtpError(err, 'ERR_BOOTPAGE') && err.cause instanceof AggregateError && isEgtpError(err.cause.errors[0], 'ERR_BOOTPAGE_REDIRECT')).toBe(true)
  expect(asked).toEqual(['https://a.example/down'])
  const up = createBootpageLoader({ urls: ['https://a.example/up'], key: signer.nodeId, fetch })
  expect((await up.load()).trackers).toHaveLength(2)
  expect(asked).toEqual(['https://a.example/down', 'https://a.example/up', 'https://b.example/page'])
})
