// The shared lint config: correctness rules only; formatting is not linted.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', performance: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', Buffer: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', fetch: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error'
    }
  },
  {
    // Node 20's V8 does not inline the TypedArray getters `byteLength`, `byteOffset` and `buffer`: each read is a
    // call (~9 ns, `length` ~1 ns). `length` is the same number on a Uint8Array; an ArrayBuffer's `byteLength`
    // (which is a plain read) takes a disable comment saying so.
    files: ['**/src/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "MemberExpression[property.name='byteLength']",
        message: 'Use `length` on a Uint8Array (Node 20 does not inline the `byteLength` getter; see docs/PERFORMANCE.md).'
      }]
    }
  },
  {
    files: ['**/bin/**', '**/bench/**', '**/test/**'],
    rules: { 'no-console': 'off' }
  }
)
