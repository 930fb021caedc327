import { egtpVitestConfig } from '@egtp/vitest-config'
export default egtpVitestConfig({ test: { include: ['test/**/*.test.js'] } })
