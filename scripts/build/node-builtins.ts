/**
 * esbuild plugin: `node:` built-ins stay imports for the runtime (nodejs_compat); a CommonJS
 * `require` of one becomes an import. Bare `fs` is left to the build's `alias` (see
 * `src/qr/no-fs.ts`).
 */
import { builtinModules } from 'node:module'
import type * as esbuild from 'esbuild'

export const nodeBuiltins: esbuild.Plugin = {
  name: 'node-builtins',
  setup(build) {
    const names = builtinModules.filter((m) => !m.startsWith('_'))
    const pattern = new RegExp(`^(node:)?(${names.map((n) => n.replace(/\//g, '\\/')).join('|')})$`)
    build.onResolve({ filter: pattern }, (args) => {
      if (args.path === 'fs') return undefined
      const path = args.path.startsWith('node:') ? args.path : `node:${args.path}`
      return args.kind === 'require-call'
        ? { path, namespace: 'node-require' }
        : { path, external: true }
    })
    build.onLoad({ filter: /.*/, namespace: 'node-require' }, (args) => ({
      contents: `import m from ${JSON.stringify(args.path)}; module.exports = m;`,
      loader: 'js',
    }))
  },
}
