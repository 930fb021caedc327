/**
 * @packageDocumentation
 * EGTP metatracker: find a node by its ID alone. Nodes publish their signed contact records to trackers
 * (which are EGTP nodes themselves), look other nodes up by ID, and discover relays and other trackers. Every
 * record is signed by its node and verified by every consumer: a tracker is never trusted.
 *
 * @example
 * ```ts
 * import { metatrackerServer } from '@egtp/metatracker/server'
 * import { trackers } from '@egtp/metatracker/client'
 * const tracker = metatrackerServer()({ node: trackerNode })
 * await tracker.start()
 * const mt = trackers({ trackers: [trackerNode.contactRecord()], identity })
 * const node = await createNode({ identity, lookup: mt, discovery: mt, announcer: mt })
 * mt.attach(node)
 * ```
 */
export { metatrackerServer, MetatrackerServer, memoryRecordStore, MemoryRecordStore, renderPrometheus } from './server/index.ts'
export type {
  MetatrackerServerComponents, MetatrackerServerEvents, MetatrackerServerInit, MemoryStoreInit, RecordStore, HeldRecord,
  PutOutcome, MetatrackerStats
} from './server/index.ts'
export { trackers, MetatrackerClient } from './client/index.ts'
export type { MetatrackerClientEvents, MetatrackerClientInit, TrackerStats } from './client/index.ts'
export {
  TRACKER_QUERY_TYPE, GOODBYE_CONTEXT, TRACKER_SERVICE, RELAY_SERVICE, requestCodec, answerCodec, signGoodbye,
  verifyGoodbye
} from './protocol.ts'
export type { TrackerRequest, TrackerAnswer } from './protocol.ts'
export { contactRecordFromText } from './record-text.ts'
// Each limit's default by name: `@egtp/metatracker/defaults` (the README lists every option with its default).
