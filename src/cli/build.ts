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
 * cold start. Three things keep that cost down: the chunks a cold isolate does not evaluate have
 * their top-level code wrapped in a function (`deferCompilation`: V8 then only pre-parses it), the
 * build leaves out zod's 63 unused locales (`zodEnglishOnly`), and names are not kept (esbuild's
 * `keepNames` adds ~45 KiB of `__name` calls; no code here depends on a function's or class's name:
 * the Stripe SDK gives its errors explicit types, and the uploaded source maps name functions in
 * stack traces).
 *
 * What wrangler's own bundler did for us, done here: TypeScript and JSX (tsconfig), minifying, the
 * `workerd`/`worker` export conditions, `node:` built-ins left to the runtime (nodejs_compat), and
 * `fs` replaced by an empty module (qrcode-svg requires it only in a `save()` we never call).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { init as lexerReady, parse as parseModule } from 'es-module-lexer'
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
    entryNames: '[name]', // the entry is ENTRY
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    alias: { fs: join(ROOT, 'src', 'qr', 'no-fs.ts') },
    plugins: [nodeBuiltins, zodEnglishOnly],
    tsconfig: join(ROOT, 'tsconfig.json'),
    minify: true,
    // Linked: wrangler finds each module's map through its sourceMappingURL and uploads it.
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    write: false,
  })
  const lazy = lazyChunks(result.metafile, outdir)
  await lexerReady
  for (const file of result.outputFiles) {
    const name = relative(outdir, file.path)
    let text = file.text
    if (lazy.has(name)) text = deferCompilation(text, name)
    else if (lazy.has(name.replace(/\.map$/, ''))) text = shiftSourceMap(text)
    mkdirSync(dirname(file.path), { recursive: true })
    writeFileSync(file.path, text)
  }
  return result.metafile
}

/**
 * The chunks a cold isolate does not evaluate: every module except the entry and what it imports
 * statically, leaving out any chunk that statically imports itself back through others (a cycle
 * could read a wrapped chunk's exports before its body ran). Paths relative to `outdir`.
 */
const ENTRY = 'index.mjs'

function lazyChunks(metafile: esbuild.Metafile, outdir: string): Set<string> {
  const rel = (path: string) => relative(outdir, resolve(path))
  const staticImports = new Map<string, string[]>()
  for (const [path, output] of Object.entries(metafile.outputs)) {
    if (path.endsWith('.map')) continue
    staticImports.set(
      rel(path),
      output.imports
        .filter((i) => i.kind === 'import-statement' && !i.external)
        .map((i) => rel(i.path)),
    )
  }
  const reachable = (from: string): Set<string> => {
    const seen = new Set<string>()
    const walk = (m: string) => {
      for (const next of staticImports.get(m) ?? []) {
        if (!seen.has(next)) {
          seen.add(next)
          walk(next)
        }
      }
    }
    walk(from)
    return seen
  }
  const eager = reachable(ENTRY)
  eager.add(ENTRY)
  return new Set([...staticImports.keys()].filter((m) => !eager.has(m) && !reachable(m).has(m)))
}

const WRAP = '$qrc$'

/**
 * workerd compiles every uploaded module when the Worker loads, imported or not, and V8 compiles a
 * module's top-level code in full but only pre-parses the bodies of its functions. So the body of a
 * chunk no cold isolate evaluates moves into a function, called when the chunk is first imported;
 * the chunk then exports what that call returns (values fixed once its body ran: no export of the
 * bundle is reassigned after a module's first evaluation). Static imports move after the function
 * (imports are hoisted wherever they stand) and both they and the export statement are blanked
 * with spaces in place, so every character of the body keeps its line (plus the one the function
 * opens) and column: the chunk's source map only shifts by a line (`shiftSourceMap`). The result is
 * parsed again, so a chunk this cannot wrap (top-level `await`) fails the build rather than the
 * Worker. (`name` is for errors.)
 */
export function deferCompilation(code: string, name: string): string {
  if (code.includes(WRAP)) throw new Error(`${name}: already contains ${WRAP}`)
  const [imports, exports] = parseModule(code)
  const blank = (text: string, from: number, to: number) =>
    text.slice(0, from) + text.slice(from, to).replace(/[^\n]/g, ' ') + text.slice(to)
  let body = code
  const statements: string[] = []
  for (const i of imports) {
    if (i.d !== -1) continue // import() and import.meta work inside a function
    statements.push(`${code.slice(i.ss, i.se).replace(/;?$/, ';')}`)
    body = blank(body, i.ss, i.se)
  }
  const locals: string[] = []
  const names: string[] = []
  if (exports.length > 0) {
    const first = Math.min(...exports.map((e) => e.s))
    const start = code.lastIndexOf('export{', first)
    const end = code.indexOf('}', Math.max(...exports.map((e) => e.e))) + 1
    const statement = code.slice(start, end)
    if (!/^export\s*\{[^}]*\}$/.test(statement)) {
      throw new Error(`${name}: exports are not one \`export { … }\` statement`)
    }
    for (const e of exports) {
      if (e.ln === undefined) throw new Error(`${name}: export ${e.n} has no local binding`)
      locals.push(e.ln)
      names.push(e.n)
    }
    body = blank(body, start, code[end] === ';' ? end + 1 : end)
  }
  const mapComment = body.match(/\n?\/\/# sourceMappingURL=[^\n]*\s*$/)
  if (mapComment?.index !== undefined) body = body.slice(0, mapComment.index)
  const bound = names.map((_, i) => `${WRAP}${i}`)
  const wrapped = [
    `function ${WRAP}init(){\n${body}\n`,
    `return[${locals.join(',')}]}const[${bound.join(',')}]=${WRAP}init();`,
    statements.join(''),
    names.length > 0 ? `export{${bound.map((b, i) => `${b} as ${names[i]}`).join(',')}};` : '',
    mapComment ? `\n${mapComment[0].trim()}\n` : '\n',
  ].join('')
  try {
    esbuild.transformSync(wrapped, { loader: 'js', format: 'esm' })
  } catch (error) {
    throw new Error(`${name}: cannot be wrapped: ${(error as Error).message}`)
  }
  return wrapped
}

/** A wrapped chunk's source map: the same mappings one generated line down. */
function shiftSourceMap(text: string): string {
  const map = JSON.parse(text) as { mappings: string }
  return JSON.stringify({ ...map, mappings: `;${map.mappings}` })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const metafile = await buildWorker()
  const outputs = Object.entries(metafile.outputs).filter(([file]) => !file.endsWith('.map'))
  const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0)
  console.log(`built dist/: ${outputs.length} modules, ${(bytes / 1024).toFixed(0)} KiB`)
}
