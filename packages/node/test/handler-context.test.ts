import { expect, test } from 'vitest'
import { MessageContext } from '../src/handler-context.ts'
import type { ReplyBody } from '../src/handler-context.ts'

test('a query handler\'s signal works for a fractional remaining time (AbortSignal.timeout wants an integer)', () => {
  const answers: ReplyBody[] = []
  const ctx = new MessageContext('peer', 'type', new Uint8Array(16), { answer: (_q, body) => { answers.push(body) } }, {}, new AbortController().signal, 299.525)
  expect(ctx.signal.aborted).toBe(false)
  ctx.reply('ok')
  expect(answers).toEqual([{ p: 'ok' }])
})
