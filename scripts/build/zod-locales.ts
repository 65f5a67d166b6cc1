/**
 * esbuild plugin: zod's `z` namespace is passed around as a value (by @hono/zod-openapi), so
 * esbuild keeps all it re-exports, `z.locales` among them: error messages in 64 languages,
 * 261 KiB of the 1.1 MB build. We use English, zod's default, which zod imports directly; the
 * locale index becomes `{ en }` (`src/lib/zod-locales.ts`).
 */
import { join } from 'node:path'
import type * as esbuild from 'esbuild'

export function zodEnglishOnly(root: string): esbuild.Plugin {
  return {
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/locales\/index\.c?js$/ }, (args) =>
        /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
          ? { path: join(root, 'src', 'lib', 'zod-locales.ts') }
          : undefined,
      )
    },
  }
}
