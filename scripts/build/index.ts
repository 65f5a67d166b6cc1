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
 * cold start — but a CommonJS module only when it is first required.
 *
 * The steps, one module each:
 * 1. esbuild, with two plugins: `node-builtins.ts` (`node:` built-ins left to the runtime) and
 *    `zod-locales.ts` (zod's 63 unused locales left out).
 * 2. `lazy-chunks.ts`: the chunks a cold isolate does not evaluate.
 * 3. `commonjs.ts`: those chunks become CommonJS modules behind one-line ES module stubs.
 * Names are not kept (esbuild's `keepNames` adds ~45 KiB of `__name` calls; no code here depends
 * on a function's or class's name: the Stripe SDK gives its errors explicit types, and the uploaded
 * source maps name functions in stack traces).
 *
 * **The plain build.** Step 3 rewrites the text esbuild writes, so an esbuild upgrade can break it
 * (the build then fails naming the chunk; it never ships a broken Worker). `QRC_BUILD_PLAIN=1`
 * (`QRC_BUILD_PLAIN=1 npx wrangler deploy`, or `npm run build -- --plain`) skips steps 2 and 3 and
 * writes esbuild's split ES modules as they are: the same Worker, each cold start paying to
 * compile the chunks it does not run (the bench measures how much). test/node/build.test.ts runs
 * both builds.
 *
 * What wrangler's own bundler did for us, done here: TypeScript and JSX (tsconfig), minifying, the
 * `workerd`/`worker` export conditions, `node:` built-ins left to the runtime (nodejs_compat), and
 * `fs` replaced by an empty module (qrcode-svg requires it only in a `save()` we never call).
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { rewriteLazyChunks } from './commonjs'
import { lazyChunks } from './lazy-chunks'
import { nodeBuiltins } from './node-builtins'
import { zodEnglishOnly } from './zod-locales'

const ROOT = resolve(import.meta.dirname, '..', '..')

/** The environment switch to the plain split ES-module build (no CommonJS rewrite). */
export const PLAIN_BUILD_ENV = 'QRC_BUILD_PLAIN'

/**
 * Builds `entry` (default: the Worker) into `outdir` (default: dist/), emptied first. `plain`
 * (default: `QRC_BUILD_PLAIN=1` in the environment) writes esbuild's output without the CommonJS
 * rewrite.
 */
export async function buildWorker(
  options: { entry?: string; outdir?: string; plain?: boolean } = {},
): Promise<esbuild.Metafile> {
  const outdir = options.outdir ?? join(ROOT, 'dist')
  const plain = options.plain ?? process.env[PLAIN_BUILD_ENV] === '1'
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
    entryNames: '[name]', // the entry is lazy-chunks.ts's ENTRY
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    alias: { fs: join(ROOT, 'src', 'qr', 'no-fs.ts') },
    plugins: [nodeBuiltins, zodEnglishOnly(ROOT)],
    tsconfig: join(ROOT, 'tsconfig.json'),
    minify: true,
    // Linked: wrangler finds each module's map through its sourceMappingURL and uploads it.
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    write: false,
  })
  const texts = new Map(result.outputFiles.map((f) => [relative(outdir, f.path), f.text]))
  if (!plain) rewriteLazyChunks(texts, lazyChunks(result.metafile, outdir))
  for (const [name, text] of texts) {
    const path = join(outdir, name)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, text)
  }
  return result.metafile
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const plain = process.argv.includes('--plain') || undefined
  await buildWorker({ plain })
  const dist = join(ROOT, 'dist')
  const modules = (readdirSync(dist, { recursive: true }) as string[]).filter((f) =>
    /\.[mc]js$/.test(f),
  )
  const bytes = modules.reduce((sum, f) => sum + statSync(join(dist, f)).size, 0)
  const kind = (plain ?? process.env[PLAIN_BUILD_ENV] === '1') ? ' (plain ES modules)' : ''
  console.log(`built dist/${kind}: ${modules.length} modules, ${(bytes / 1024).toFixed(0)} KiB`)
}
