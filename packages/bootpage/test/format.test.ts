import { isEgtpError } from '@egtp/interface'
import { RECORD_EXPIRY_GRACE_MS, contactRecordToWire, generateIdentity, nodeIdFromPublicKey, signCanonical } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import {
  BOOTPAGE_CONTEXT, BOOTPAGE_FORMAT, MAX_BOOTPAGE_RECORDS, checkBootpageSource, createBootpage, parseBootpage, parseBootpageKey, verifyBootpage
} from '../src/index.ts'
import { DAY, fixture, trackerRecord } from './helpers.ts'

function code (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isEgtpError(err)) return err.code
    throw err
  }
  throw new Error('did not throw')
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const edit = (page: string, change: (doc: Record<string, any>) => void): string => { // eslint-disable-line @typescript-eslint/no-explicit-any
  const doc = JSON.parse(page) as Record<string, unknown>
  change(doc)
  return JSON.stringify(doc)
}

describe('page format', () => {
  test('a page reads back: JSON a person can read, verified against the signer given three ways', () => {
    const { signer, records, page } = fixture()
    const doc = JSON.parse(page) as Record<string, unknown>
    expect(doc.format).toBe(BOOTPAGE_FORMAT)
    expect(doc.version).toBe(1)
    expect(doc.signer).toBe(signer.nodeId)
    expect(page).toContain('"metatracker"')
    expect(page).toContain('"port": 4001')
    for (const key of [signer.nodeId, hex(signer.publicKey), signer.publicKey]) {
      const v = verifyBootpage(page, { key })
      expect(v.signer).toBe(signer.nodeId)
      expect(v.trackers.map(r => r.nodeId)).toEqual([records[0]!.nodeId, records[1]!.nodeId])
      expect(v.relays.map(r => r.nodeId)).toEqual([records[2]!.nodeId])
      expect(v.refused).toEqual([])
      expect(v.trackers[0]!.endpoints).toEqual([{ kind: 'tcp', host: '127.0.0.1', port: 4001 }])
    }
    // The same page from bytes, and with its keys in another order and other whitespace: the signature covers
    // the content, not the JSON spelling.
    expect(verifyBootpage(new TextEncoder().encode(page), { key: signer.nodeId }).records).toHaveLength(3)
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(doc).reverse()))
    expect(verifyBootpage(reordered, { key: signer.nodeId }).records).toHaveLength(3)
  })

  test('a page signed by another key is ERR_KEY_MISMATCH, whether the key is a node ID or a public key', () => {
    const { page } = fixture()
    const other = generateIdentity()
    expect(code(() => verifyBootpage(page, { key: other.nodeId }))).toBe('ERR_KEY_MISMATCH')
    expect(code(() => verifyBootpage(page, { key: hex(other.publicKey) }))).toBe('ERR_KEY_MISMATCH')
  })

  test('an attacker who re-signs a page with their own key but names the operator is refused', () => {
    const { signer, page } = fixture()
    const mallory = generateIdentity()
    const forged = createBootpage(mallory, { records: [trackerRecord(6666)], expiresAt: Date.now() + DAY })
    // Claiming the operator's node ID with Mallory's key: the node ID must be the key's hash.
    expect(code(() => parseBootpage(edit(forged, d => { d.signer = signer.nodeId })))).toBe('ERR_KEY_MISMATCH')
    // Naming the operator's key with Mallory's signature: the signature does not hold.
    const swapped = edit(forged, d => { d.signer = signer.nodeId; d.publicKey = hex(signer.publicKey) })
    expect(code(() => verifyBootpage(swapped, { key: signer.nodeId }))).toBe('ERR_SIGNATURE')
    expect(code(() => verifyBootpage(page, { key: mallory.nodeId }))).toBe('ERR_KEY_MISMATCH')
  })

  test('every tampered field breaks the signature', () => {
    const { signer, page } = fixture()
    const tampers: Array<(d: Record<string, any>) => void> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      d => { d.expiresAt = new Date(Date.parse(d.expiresAt as string) + 1).toISOString() },
      d => { d.issuedAt = new Date(Date.parse(d.issuedAt as string) - 1).toISOString() },
      d => { d.records.pop() },
      d => { d.records.reverse() },
      d => { d.records.push(d.records[0]) },
      d => { d.records[0].endpoints[0].port = 6666 }, // a record's own signature breaks too, but the page's first
      d => { d.records[2].services = ['metatracker'] },
      d => { d.signature = d.signature.replace(/^./, (c: string) => c === '0' ? '1' : '0') }
    ]
    for (const tamper of tampers) expect(code(() => verifyBootpage(edit(page, tamper), { key: signer.nodeId }))).toBe('ERR_SIGNATURE')
  })

  test('an expired page is ERR_BOOTPAGE_EXPIRED (after its signature is checked)', () => {
    const now = Date.now()
    const { signer, page } = fixture({ issuedAt: now - 2 * DAY, expiresAt: now - DAY })
    expect(code(() => verifyBootpage(page, { key: signer.nodeId, now }))).toBe('ERR_BOOTPAGE_EXPIRED')
    expect(verifyBootpage(page, { key: signer.nodeId, now: now - DAY - 1 }).trackers).toHaveLength(2)
  })

  test('malformed, truncated and unknown-version pages are refused with a code, never a TypeError', () => {
    const { signer, page } = fixture()
    const key = signer.nodeId
    for (let cut = 0; cut < page.length; cut += 37) {
      expect(code(() => verifyBootpage(page.slice(0, cut), { key }))).toBe('ERR_BOOTPAGE_MALFORMED')
    }
    expect(code(() => verifyBootpage(Uint8Array.of(0xff, 0xfe, 0x7b), { key }))).toBe('ERR_BOOTPAGE_MALFORMED')
    expect(code(() => verifyBootpage('[]', { key }))).toBe('ERR_BOOTPAGE_MALFORMED')
    expect(code(() => verifyBootpage('{"format":"other"}', { key }))).toBe('ERR_BOOTPAGE_MALFORMED')
    expect(code(() => verifyBootpage(edit(page, d => { d.version = 2 }), { key }))).toBe('ERR_VERSION')
    expect(code(() => verifyBootpage(edit(page, d => { d.version = '1' }), { key }))).toBe('ERR_VERSION')
    const bad: Array<(d: Record<string, any>) => void> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      d => { d.note = 'unsigned text riding along' },
      d => { delete d.signature },
      d => { d.signature = 'zz' },
      d => { d.publicKey = d.publicKey.toUpperCase() },
      d => { d.issuedAt = '2026-12-04' },
      d => { d.expiresAt = d.issuedAt },
      d => { d.records = {} },
      d => { d.records = Array.from({ length: MAX_BOOTPAGE_RECORDS + 1 }, () => d.records[0]) },
      d => { d.records[0].extra = 1 },
      d => { d.records[0].seq = -1 },
      d => { d.records[0].seq = 1.5 },
      d => { d.records[0].nodeId = 'not-a-node-id' },
      d => { d.records[0].endpoints = [{ kind: 'udp', host: 'x', port: 1 }] },
      d => { d.records[0].services = ['x'.repeat(33)] },
      d => { d.records[0].expiresAt = 12 }
    ]
    for (const b of bad) {
      const c = code(() => verifyBootpage(edit(page, b), { key }))
      expect(['ERR_BOOTPAGE_MALFORMED', 'ERR_KEY_MISMATCH']).toContain(c)
    }
  })

  test('every field replaced by a value of every other JSON type: always refused, with a code, never a TypeError', () => {
    const { signer, page } = fixture()
    const key = signer.nodeId
    const doc = JSON.parse(page) as unknown
    const paths: Array<Array<string | number>> = []
    const walk = (v: unknown, path: Array<string | number>): void => {
      paths.push(path)
      if (Array.isArray(v)) v.forEach((x, i) => { walk(x, [...path, i]) })
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k])
    }
    walk(doc, [])
    const replacements: unknown[] = [null, 0, -1, 1.5, 2 ** 60, '', 'x', true, [], {}, [null], { a: 1 }]
    let refused = 0
    for (const path of paths) {
      for (const value of replacements) {
        const copy = JSON.parse(page) as Record<string, unknown>
        let text: string
        if (path.length === 0) {
          text = JSON.stringify(value)
        } else {
          let at: any = copy // eslint-disable-line @typescript-eslint/no-explicit-any
          for (const p of path.slice(0, -1)) at = at[p]
          at[path[path.length - 1]!] = value
          text = JSON.stringify(copy)
        }
        try {
          verifyBootpage(text, { key })
        } catch (err) {
          expect(isEgtpError(err), `${path.join('.')} = ${JSON.stringify(value)}: ${String(err)}`).toBe(true)
          refused++
        }
      }
    }
    // Every field is signed or checked: no change of type is ever accepted.
    expect(refused).toBe(paths.length * replacements.length)
  })

  test('records are verified on their own: a forged or expired record in a validly signed page is left out', () => {
    const signer = generateIdentity()
    const good = trackerRecord(4001, ['metatracker'], generateIdentity(), Date.now() + 3 * DAY)
    const victim = trackerRecord(4002)
    // Mallory lists the victim's node ID with her own endpoint; she cannot sign as the victim.
    const forged = { ...victim, endpoints: [{ kind: 'tcp' as const, host: '127.0.0.1', port: 6666 }] }
    const stale = trackerRecord(4003, ['metatracker'], generateIdentity(), Date.now() + 1000)
    // createBootpage refuses to list a forged record...
    expect(code(() => createBootpage(signer, { records: [good, forged], expiresAt: Date.now() + DAY }))).toBe('ERR_SIGNATURE')
    // ...so sign such a page by hand, following docs/protocol/bootpage.md: the page signature holds, and
    // still the forged record is not used (the page key is not trusted to vouch for records).
    const issuedAt = Date.now()
    const expiresAt = issuedAt + 3 * DAY
    const records = [good, forged, stale]
    const signature = signCanonical(signer, BOOTPAGE_CONTEXT, { v: 1, k: signer.publicKey, i: issuedAt, x: expiresAt, r: records.map(contactRecordToWire) })
    const page = JSON.stringify({
      format: 'egtp-bootpage',
      version: 1,
      signer: signer.nodeId,
      publicKey: hex(signer.publicKey),
      issuedAt: new Date(issuedAt).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
      records: records.map(r => ({ nodeId: r.nodeId, services: r.services, endpoints: r.endpoints, seq: r.seq, expiresAt: new Date(r.expiresAt).toISOString(), publicKey: hex(r.publicKey), signature: hex(r.signature) })),
      signature: hex(signature)
    })
    // A record is accepted up to RECORD_EXPIRY_GRACE_MS past its expiry (clock skew): check past that.
    const v = verifyBootpage(page, { key: signer.nodeId, now: issuedAt + 2000 + RECORD_EXPIRY_GRACE_MS })
    expect(v.trackers.map(r => r.nodeId)).toEqual([good.nodeId])
    expect(v.refused.map(r => [r.index, r.nodeId, r.error.code])).toEqual([[1, victim.nodeId, 'ERR_SIGNATURE'], [2, stale.nodeId, 'ERR_STALE_RECORD']])
  })

  test('a page without a valid tracker is ERR_BOOTPAGE_EMPTY', () => {
    const signer = generateIdentity()
    const page = createBootpage(signer, { records: [trackerRecord(5001, ['relay'])], expiresAt: Date.now() + DAY })
    expect(code(() => verifyBootpage(page, { key: signer.nodeId }))).toBe('ERR_BOOTPAGE_EMPTY')
  })

  test('createBootpage refuses bad arguments as programmer errors', () => {
    const signer = generateIdentity()
    expect(() => createBootpage(signer, { records: [], expiresAt: 1, issuedAt: 2 })).toThrow(RangeError)
    expect(() => createBootpage(signer, { records: Array.from({ length: MAX_BOOTPAGE_RECORDS + 1 }, () => trackerRecord(1)), expiresAt: Date.now() + DAY })).toThrow(RangeError)
  })

  test('the signer key: node ID, hex public key or bytes; anything else is refused', () => {
    const id = generateIdentity()
    expect(parseBootpageKey(id.nodeId)).toEqual({ kind: 'node-id', nodeId: id.nodeId })
    expect(parseBootpageKey(id.nodeId.toUpperCase())).toEqual({ kind: 'node-id', nodeId: id.nodeId })
    const fromHex = parseBootpageKey(hex(id.publicKey))
    expect(fromHex.nodeId).toBe(nodeIdFromPublicKey(id.publicKey))
    expect(code(() => parseBootpageKey('abc'))).toBe('ERR_BAD_NODE_ID')
    expect(code(() => parseBootpageKey(id.nodeId.replace(/.$/, '1')))).toBe('ERR_BAD_NODE_ID')
    expect(() => parseBootpageKey(new Uint8Array(31))).toThrow(RangeError)
  })

  test('checkBootpageSource: http(s) URLs and a signer key, checked before anything is fetched', () => {
    const id = generateIdentity()
    const ok = checkBootpageSource({ urls: ['http://127.0.0.1:9/p', 'https://example.test/p'], key: id.nodeId })
    expect(ok.urls.map(u => u.protocol)).toEqual(['http:', 'https:'])
    expect(ok.signer).toEqual({ kind: 'node-id', nodeId: id.nodeId })
    expect(() => checkBootpageSource({ urls: ['http://127.0.0.1:9/p'], key: undefined })).toThrow(/signer key/)
    expect(() => checkBootpageSource({ urls: [], key: id.nodeId })).toThrow(RangeError)
    expect(() => checkBootpageSource({ urls: ['ftp://127.0.0.1/p'], key: id.nodeId })).toThrow(/http: or https:/)
    expect(() => checkBootpageSource({ urls: ['not a url'], key: id.nodeId })).toThrow(/not a URL/)
    expect(code(() => checkBootpageSource({ urls: ['http://127.0.0.1:9/p'], key: 'abc' }))).toBe('ERR_BAD_NODE_ID')
  })

  test('a record\'s node ID in another letter case is the same record: the verified page gives the canonical form', () => {
    const { signer, records, page } = fixture()
    const upper = page.replace(records[0]!.nodeId, records[0]!.nodeId.toUpperCase())
    expect(upper).not.toBe(page)
    const verified = verifyBootpage(upper, { key: signer.nodeId })
    expect(verified.records[0]!.nodeId).toBe(records[0]!.nodeId)
    expect(verified).toEqual(verifyBootpage(page, { key: signer.nodeId }))
  })
})
