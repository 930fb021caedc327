import type { ChildProcess } from 'node:child_process'
/** Whether `redis-server` can run here. Under CI=true a missing binary throws instead of skipping. */
export declare function redisAvailable (): boolean
export interface RedisProcess { url: string, port: number, child: ChildProcess, stop: () => Promise<void> }
/** A private redis-server on a free loopback port, in a temporary directory, nothing saved. */
export declare function startRedis (): Promise<RedisProcess>
