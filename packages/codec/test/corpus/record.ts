// Records the wire corpus: `node --import tsx --conditions=@egtp/source test/corpus/record.ts` (from
// packages/codec). Run once, on the code whose wire the corpus pins (commit beae43d); re-running it on later code
// must give the same file (`git diff` shows any change).
import { writeFileSync } from 'node:fs'
import { corpusCodecs } from './codecs.ts'
import { bootpageFrames, nodeFrames, relayFrames, sessionFrames, trackerFrames } from './frames.ts'
import { storeBytes, toJsonSafe } from './json.ts'

const frames = [
  ...nodeFrames(corpusCodecs.node.encode),
  ...sessionFrames(),
  ...relayFrames(),
  ...trackerFrames(corpusCodecs.record.encode),
  ...bootpageFrames()
]
const corpus = frames.map(fr => {
  const c = corpusCodecs[fr.codec]
  const bytes = c.encode(fr.value)
  return { name: fr.name, codec: fr.codec, ...storeBytes(bytes), value: toJsonSafe(c.decode(bytes)) }
})
const out = new URL('./wire-corpus.json', import.meta.url)
writeFileSync(out, `${JSON.stringify({ recordedAt: 'beae43d', frames: corpus }, null, 1)}\n`)
console.log(`${corpus.length} frames → ${out.pathname}`)
