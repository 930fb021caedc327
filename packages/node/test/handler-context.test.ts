import { expect, test } from 'vitest'
import { MessageContext } from '../src/handler-context.ts'
import type { ReplyBody } from '../src/handler-context.ts'

test('a query handler\'s signal works for a fractional remaining time (AbortSignal.timeout wants an integer)', () => {
  const answers: Array<{ query: unknown, id: Uint8Array, type: string, remainingMs: number, body: ReplyBody }> = []
  const query = {}
  const id = new Uint8Array(16).fill(7)
  const ctx = new MessageContext('peer', 'type', id, { answer: (q, i, type, remainingMs, body) => { answers.push({ query: q, id: i, type, remainingMs, body }) } }, query, new AbortController().signal, 299.525)
  expect(ctx.signal.aborted).toBe(false)
  ctx.reply('ok')
  ctx.reply('again') // answered once
  // The context itself carries what the reply needs: the query, its ID and type, the time it may be kept.
  expect(answers).toEqual([{ query, id, type: 'type', remainingMs: 299.525, body: { p: 'ok' } }])
  expect(answers[0]!.query).toBe(query)
})
