import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { corpusCodecs } from './corpus/codecs.ts'
import type { CorpusCodec } from './corpus/frames.ts'
import { hex, loadBytes, toJsonSafe } from './corpus/json.ts'

// The wire corpus recorded at beae43d (test/corpus/record.ts): every frame must decode to the recorded value and
// re-encode to the recorded bytes, whatever the code below the decoders has become.
interface Entry { name: string, codec: CorpusCodec, hex?: string, gzip?: string, value: unknown }
const corpus = JSON.parse(readFileSync(new URL('./corpus/wire-corpus.json', import.meta.url), 'utf8')) as { frames: Entry[] }

describe('wire corpus', () => {
  test('covers every message type of every codec', () => {
    const types = new Set(corpus.frames.map(e => `${e.codec}:${(e.value as { t?: string }).t ?? ''}`))
    for (const t of ['q', 'a', 'o', 'k', 'u', 'ci', 'b']) expect(types).toContain(`node:${t}`)
    for (const t of ['hi', 'hr', 'hd', 'hu', 'hc']) expect(types).toContain(`session:${t}`)
    for (const t of ['rc', 'rh', 'rw', 'rr', 'rs', 'ry', 'rx', 'rl', 'rv', 'rd', 'ra', 'rp', 'rq', 'ri']) expect(types).toContain(`relay:${t}`)
    for (const t of ['mp', 'ml', 'md', 'mg']) expect(types).toContain(`trackerRequest:${t}`)
    for (const t of ['mpa', 'mla', 'mda', 'mga']) expect(types).toContain(`trackerAnswer:${t}`)
    expect(types).toContain('record:cr')
    expect(types).toContain('bootpage:')
  })

  describe.each(corpus.frames.map(e => [e.name, e] as const))('%s', (_name, entry) => {
    const bytes = loadBytes(entry)
    const codec = corpusCodecs[entry.codec]

    test('the schema codec decodes it to the recorded value and re-encodes the same bytes', () => {
      const decoded = codec.decode(bytes)
      expect(toJsonSafe(decoded)).toEqual(entry.value)
      expect(hex(codec.encode(decoded as Record<string, unknown>))).toBe(hex(bytes))
    })
  })
})
