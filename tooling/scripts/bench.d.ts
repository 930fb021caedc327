export interface BenchResult { name: string, opsPerSec: number, mbPerSec?: number }
export interface BenchOptions { minMs?: number, rounds?: number, bytesPerOp?: number }
export declare function measure (name: string, fn: () => unknown, opts?: BenchOptions): BenchResult
export declare function measureAsync (name: string, fn: () => Promise<number>, opts?: BenchOptions): Promise<BenchResult>
export declare function report (result: BenchResult, baseline?: BenchResult): void
export declare function heading (text: string): void
/** Run `n` operations with at most `window` in flight; resolves with `n`. */
export declare function pump (n: number, window: number, op: () => Promise<unknown>): Promise<number>
/** Run operations with at most `window` in flight until `ms` have passed; resolves with how many completed. */
export declare function pumpFor (ms: number, window: number, op: () => Promise<unknown>): Promise<number>
