export { default } from '@egtp/scripts/eslint'
