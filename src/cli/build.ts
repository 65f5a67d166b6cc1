/**
 * The Worker's build (wrangler.toml `[build]` runs it before `wrangler dev` and `wrangler deploy`;
 * wrangler then uploads `dist/` as it is, `no_bundle`). esbuild bundles `src/index.ts` into ES
 * modules split at every dynamic `import()`: the entry (the scan path, the hub class) and chunks for
 * the edge app, the full app (API, admin, payments), the Stripe SDK and the shared code. workerd
 * evaluates a chunk only when it is first imported, so a cold isolate runs the entry's top-level
 * code and nothing else — a single bundle would run every module's namespace setup at startup
 * (zod's alone defines ~1,000 getters). Shared modules stay single copies: an edit's cache
 * invalidation in the API chunk reaches the scan path's cache in the entry. workerd does compile
 * every uploaded module when the Worker loads (measured: an upload with a 636 KiB module nothing
 * imports starts 15–20 ms later than one without), so bytes that are never used still cost every
 * cold start: the build leaves out zod's 63 unused locales (`zodEnglishOnly`).
 *
 * What wrangler's own bundler did for us, done here: TypeScript and JSX (tsconfig), minifying, the
 * `workerd`/`worker` export conditions, `node:` built-ins left to the runtime (nodejs_compat), and
 * `fs` replaced by an empty module (qrcode-svg requires it only in a `save()` we never call).
 */
import { rmSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const ROOT = resolve(import.meta.dirname, '..', '..')

/** `node:` built-ins stay imports for the runtime; a CommonJS `require` of one becomes an import. */
const nodeBuiltins: esbuild.Plugin = {
  name: 'node-builtins',
  setup(build) {
    const names = builtinModules.filter((m) => !m.startsWith('_'))
    const pattern = new RegExp(`^(node:)?(${names.map((n) => n.replace(/\//g, '\\/')).join('|')})$`)
    build.onResolve({ filter: pattern }, (args) => {
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

/**
 * zod's `z` namespace is passed around as a value (by @hono/zod-openapi), so esbuild keeps all it
 * re-exports, `z.locales` among them: error messages in 64 languages, 261 KiB of the 1.1 MB build.
 * We use English, zod's default, which zod imports directly; the locale index becomes `{ en }`.
 */
const zodEnglishOnly: esbuild.Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.c?js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(ROOT, 'src', 'lib', 'zod-locales.ts') }
        : undefined,
    )
  },
}

/** Builds `entry` (default: the Worker) into `outdir` (default: dist/), emptied first. */
export async function buildWorker(
  options: { entry?: string; outdir?: string } = {},
): Promise<esbuild.Metafile> {
  const outdir = options.outdir ?? join(ROOT, 'dist')
  // Chunk names carry content hashes: stale chunks would be uploaded too.
  rmSync(outdir, { recursive: true, force: true })
  const result = await esbuild.build({
    entryPoints: { index: options.entry ?? join(ROOT, 'src', 'index.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2024',
    outdir,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    alias: { fs: join(ROOT, 'src', 'qr', 'no-fs.ts') },
    plugins: [nodeBuiltins, zodEnglishOnly],
    tsconfig: join(ROOT, 'tsconfig.json'),
    minify: true,
    keepNames: true,
    // Linked: wrangler finds each module's map through its sourceMappingURL and uploads it.
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  })
  return result.metafile
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const metafile = await buildWorker()
  const outputs = Object.entries(metafile.outputs).filter(([file]) => !file.endsWith('.map'))
  const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0)
  console.log(`built dist/: ${outputs.length} modules, ${(bytes / 1024).toFixed(0)} KiB`)
}
