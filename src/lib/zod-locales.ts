/**
 * Stands in for zod's locale index in the Worker's build (scripts/build/zod-locales.ts):
 * the only locale we use is English, zod's default, which zod itself imports directly.
 */
export { default as en } from 'zod/v4/locales/en.js'
