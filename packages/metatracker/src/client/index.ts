/**
 * The metatracker client: the node's lookup, discovery and announcer (`trackers(init)`).
 * @packageDocumentation
 */
export { trackers, MetatrackerClient } from './client.ts'
export type { MetatrackerClientEvents, TrackerStats } from './client.ts'
export type { MetatrackerClientInit } from './config.ts'
