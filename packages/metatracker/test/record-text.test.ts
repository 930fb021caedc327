import { encodeContactRecord } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { contactRecordFromText } from '../src/index.ts'
import { record } from './helpers/net.ts'

describe('contactRecordFromText', () => {
  const { record: r } = record({ services: ['metatracker'] })
  const base64 = Buffer.from(encodeContactRecord(r)).toString('base64')

  test('reads base64, URL-safe base64 and a JSON ready line, with surrounding whitespace', () => {
    expect(contactRecordFromText(`  ${base64}\n`).nodeId).toBe(r.nodeId)
    expect(contactRecordFromText(Buffer.from(encodeContactRecord(r)).toString('base64url')).nodeId).toBe(r.nodeId)
    expect(contactRecordFromText(JSON.stringify({ ready: true, record: base64 }) + '\nlater lines ignored').seq).toBe(r.seq)
  })

  test('says what is wrong with anything else', () => {
    expect(() => contactRecordFromText('{not json')).toThrow(expect.objectContaining({ code: 'ERR_MALFORMED' }))
    expect(() => contactRecordFromText('{"nodeId":"x"}')).toThrow(/no "record" field/)
    expect(() => contactRecordFromText('/etc/no such file')).toThrow(/not a base64 contact record/)
    // A record whose signature does not hold is refused by the decoder.
    const forged = encodeContactRecord(r)
    forged[forged.byteLength - 1]! ^= 1
    expect(() => contactRecordFromText(Buffer.from(forged).toString('base64'))).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_/) }))
  })
})
