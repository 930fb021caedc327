// The decoders of the corpus, by the `codec` name of a frame: today's schema codecs.
import {
  bootpageSignedValue, createMessageCodec, decodeValue, encodeCanonical, nodeMessages, recordMessages, relayMessages,
  sessionMessages, trackerAnswerMessages, trackerRequestMessages
} from '../../src/index.ts'
import type { CorpusCodec } from './frames.ts'

export interface CorpusDecoder {
  encode: (value: Record<string, unknown>) => Uint8Array
  decode: (bytes: Uint8Array) => unknown
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the corpus holds every message type
const loose = (c: { encode: (m: any) => Uint8Array, decode: (b: Uint8Array) => unknown }): CorpusDecoder => c

export const corpusCodecs: Record<CorpusCodec, CorpusDecoder> = {
  node: loose(createMessageCodec(nodeMessages)),
  session: loose(createMessageCodec(sessionMessages)),
  relay: loose(createMessageCodec(relayMessages)),
  trackerRequest: loose(createMessageCodec(trackerRequestMessages)),
  trackerAnswer: loose(createMessageCodec(trackerAnswerMessages)),
  record: loose(createMessageCodec(recordMessages)),
  bootpage: {
    encode: (value) => encodeCanonical(value),
    decode: (bytes) => bootpageSignedValue.check(decodeValue(bytes), 'bootpage')
  }
}
