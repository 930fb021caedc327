import type { ViteUserConfig } from 'vitest/config'
export declare function egtpVitestConfig (overrides?: ViteUserConfig): ViteUserConfig
