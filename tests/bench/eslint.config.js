import base from '@egtp/scripts/eslint'

// The CLI prints its report.
export default [...base, { files: ['src/cli.ts'], rules: { 'no-console': 'off' } }]
