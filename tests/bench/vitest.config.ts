import { egtpVitestConfig } from '@egtp/vitest-config'
export default egtpVitestConfig()
