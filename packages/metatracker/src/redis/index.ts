/**
 * The Redis (or Valkey) record store for a fleet of trackers sharing one database. A separate subpath so
 * that nothing else in the package loads the Redis client.
 * @packageDocumentation
 */
export { redisRecordStore, RedisRecordStore, DEFAULT_REDIS_KEY_PREFIX, DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from './redis-store.ts'
export type { RedisStoreInit } from './redis-store.ts'
