/**
 * The metatracker server: `metatrackerServer(init)({ node, store })`, its record stores and metrics.
 * @packageDocumentation
 */
export { metatrackerServer, MetatrackerServer } from './server.ts'
export type { MetatrackerServerComponents, MetatrackerServerEvents } from './server.ts'
export type { MetatrackerServerInit } from './config.ts'
export { memoryRecordStore, MemoryRecordStore } from './memory-store.ts'
export type { MemoryStoreInit } from './memory-store.ts'
export type { RecordStore, HeldRecord, PutOutcome } from './store.ts'
export { renderPrometheus } from './metrics.ts'
export type { MetatrackerStats } from './metrics.ts'
