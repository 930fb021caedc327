import { blake2s } from '@noble/hashes/blake2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { HASHES } from './src/noise/hash.ts'
const h = HASHES.BLAKE2s
const ck = new Uint8Array(32).fill(1), ikm = new Uint8Array(32).fill(2)
const ONE = Uint8Array.of(1), TWO = Uint8Array.of(2)
const mac = (key: Uint8Array, parts: Uint8Array[]): Uint8Array => { const x = hmac.create(blake2s, key); for (const p of parts) x.update(p); return x.digest() }
const old = (): Uint8Array => { const t = mac(ck, [ikm]); const o1 = mac(t, [ONE]); const o2 = mac(t, [o1, TWO]); return o2 }
const time = (fn: () => unknown, n: number): number => { const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); return Number(process.hrtime.bigint() - t) / n / 1000 }
const a: number[] = [], b: number[] = []
for (let r = 0; r < 15; r++) { a.push(time(old, 5000)); b.push(time(() => h.hkdf(ck, ikm, 2), 5000)) }
const med = (x: number[]): string => x.sort((p, q) => p - q)[x.length >> 1]!.toFixed(2)
console.log('hkdf2 old', med(a), 'new', med(b))
