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
 * cold start — but a CommonJS module only when it is first required. Three things keep that cost
 * down: the chunks a cold isolate does not evaluate become CommonJS modules behind one-line ES
 * module stubs (`toCommonJs`), the build leaves out zod's 63 unused locales (`zodEnglishOnly`), and names are not kept (esbuild's
 * `keepNames` adds ~45 KiB of `__name` calls; no code here depends on a function's or class's name:
 * the Stripe SDK gives its errors explicit types, and the uploaded source maps name functions in
 * stack traces).
 *
 * What wrangler's own bundler did for us, done here: TypeScript and JSX (tsconfig), minifying, the
 * `workerd`/`worker` export conditions, `node:` built-ins left to the runtime (nodejs_compat), and
 * `fs` replaced by an empty module (qrcode-svg requires it only in a `save()` we never call).
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileFunction } from 'node:vm'
import { parse as parseJs } from 'acorn'
import { initSync as lexerInit, parse as parseModule } from 'es-module-lexer'
import * as esbuild from 'esbuild'
import { analyze } from 'eslint-scope'

const ROOT = resolve(import.meta.dirname, '..', '..')

/**
 * `node:` built-ins stay imports for the runtime; a CommonJS `require` of one becomes an import.
 * Bare `fs` is left to the build's `alias` (see `src/qr/no-fs.ts`).
 */
const nodeBuiltins: esbuild.Plugin = {
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
  const texts = new Map(result.outputFiles.map((f) => [relative(outdir, f.path), f.text]))
  const lazy = lazyChunks(result.metafile, outdir)
  const required = new Set<string>()
  for (const name of lazy) {
    const converted = toCommonJs(texts.get(name) ?? '', name, lazy)
    texts.set(commonJsName(name), converted.commonJs)
    texts.set(name, converted.stub)
    const map = texts.get(`${name}.map`)
    if (map !== undefined) {
      texts.delete(`${name}.map`)
      texts.set(`${commonJsName(name)}.map`, shiftSourceMap(map, commonJsName(name)))
    }
    for (const chunk of converted.requires) if (!lazy.has(chunk)) required.add(chunk)
  }
  for (const name of required) texts.set(name, exportNamespace(texts.get(name) ?? '', name))
  for (const [name, text] of texts) {
    const path = join(outdir, name)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, text)
  }
  return result.metafile
}

const ENTRY = 'index.mjs'

/**
 * The chunks a cold isolate does not evaluate: every module except the entry and what it imports
 * statically, leaving out any chunk that statically imports itself back through others (in a
 * cycle, a converted chunk's exports could be read before its body ran). Paths relative to
 * `outdir`.
 */
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

const PREFIX = '$qrc$'
/** esbuild's last line naming the module's source map. */
const MAP_COMMENT = /\n?\/\/# sourceMappingURL=[^\n]*\s*$/
const commonJsName = (name: string) => name.replace(/\.mjs$/, '.cjs')
const isChunk = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../')

/**
 * workerd compiles every uploaded ES module when the Worker loads, imported or not, but a CommonJS
 * module only when it is first required. So each chunk no cold isolate evaluates becomes a
 * CommonJS module (`chunks/x.cjs`), and its ES module name (`chunks/x.mjs`, which `import()`
 * calls name) a stub of one line that imports it and re-exports what it exports.
 *
 * In the CommonJS module, line 1 is `"use strict"` and a `require` for each static import, line 2
 * onwards is the chunk as esbuild wrote it with its import and export statements blanked with
 * spaces in place, so every character of the code keeps its column, one line down (the chunk's
 * source map only shifts, `shiftSourceMap`), and the last line assigns `module.exports`. Exports
 * are the values once the body ran: an export assigned later is refused (`topLevelOf`), and
 * chunks in an import cycle stay ES modules (`lazyChunks`). Another lazy
 * chunk is required as CommonJS; a chunk that is evaluated eagerly stays an ES module, and
 * workerd's `require` of an ES module returns its default export, so such a chunk gets its own
 * namespace as default export (`exportNamespace`). The result is parsed again: what cannot be
 * converted (top-level `await`, `import.meta`) fails the build rather than the Worker.
 */
export function toCommonJs(
  code: string,
  name: string,
  lazy: ReadonlySet<string>,
): { commonJs: string; stub: string; requires: string[] } {
  if (code.includes(PREFIX)) throw new Error(`${name}: already contains ${PREFIX}`)
  lexerInit()
  const [imports, exports] = parseModule(code)
  const scope = topLevelOf(code, name)
  for (const wrapperName of COMMONJS_WRAPPER) {
    if (scope.declared.has(wrapperName)) {
      throw new Error(`${name}: declares \`${wrapperName}\`, which CommonJS provides`)
    }
  }
  const blank = (text: string, from: number, to: number) =>
    text.slice(0, from) + text.slice(from, to).replace(/[^\n]/g, ' ') + text.slice(to)
  let body = code
  const header = ['"use strict";']
  const requires: string[] = []
  for (const i of imports) {
    if (i.d === -2) throw new Error(`${name}: uses import.meta`)
    if (i.d !== -1) continue // import() works in CommonJS too
    const statement = code.slice(i.ss, i.se)
    const specifier = i.n ?? ''
    let target = specifier
    if (isChunk(specifier)) {
      const chunk = relative('.', join(dirname(name), specifier))
      requires.push(chunk)
      if (lazy.has(chunk)) target = commonJsName(specifier)
    } else if (!REQUIRABLE.has(specifier)) {
      // workerd's require() of `cloudflare:workers` gives its (absent) default export, and of
      // `node:process` throws: only built-ins tested through require() are let through.
      throw new Error(`${name}: imports ${specifier}, which a CommonJS chunk cannot require`)
    }
    header.push(requireOf(statement, target, isChunk(specifier), name))
    body = blank(body, i.ss, code[i.se] === ';' ? i.se + 1 : i.se)
  }
  const names: string[] = []
  const locals: string[] = []
  if (exports.length > 0) {
    const start = code.lastIndexOf('export{', Math.min(...exports.map((e) => e.s)))
    const end = code.indexOf('}', Math.max(...exports.map((e) => e.e))) + 1
    if (start < 0 || !/^export\{[^}]*\}$/.test(code.slice(start, end))) {
      throw new Error(`${name}: exports are not one \`export{…}\` statement`)
    }
    for (const e of exports) {
      if (e.ln === undefined) throw new Error(`${name}: export ${e.n} has no local binding`)
      if (scope.laterWritten.has(e.ln)) throw new Error(laterWrittenError(name, e.n))
      names.push(e.n)
      locals.push(e.ln)
    }
    body = blank(body, start, code[end] === ';' ? end + 1 : end)
  }
  const mapComment = body.match(MAP_COMMENT)
  if (mapComment?.index !== undefined) body = body.slice(0, mapComment.index)
  const file = basename(commonJsName(name))
  const commonJs = [
    `${header.join('')}\n${body}\n`,
    `module.exports={${names.map((n, i) => `${JSON.stringify(n)}:${locals[i]}`).join(',')}};`,
    mapComment ? `\n//# sourceMappingURL=${file}.map\n` : '\n',
  ].join('')
  try {
    // Compiled (not run) the way workerd wraps a CommonJS module.
    compileFunction(commonJs, COMMONJS_WRAPPER)
  } catch (error) {
    throw new Error(`${name}: cannot become CommonJS: ${(error as Error).message}`)
  }
  const bound = names.map((_, i) => `${PREFIX}${i}`)
  const module = `./${file}`
  const stub =
    names.length === 0
      ? `import ${JSON.stringify(module)};\n`
      : `import ${PREFIX}m from ${JSON.stringify(module)};const{${names.map((n, i) => `${JSON.stringify(n)}:${bound[i]}`).join(',')}}=${PREFIX}m;export{${bound.map((b, i) => `${b} as ${JSON.stringify(names[i])}`).join(',')}};\n`
  return { commonJs, stub, requires }
}

/**
 * The built-ins a CommonJS chunk may require: each gives, in workerd, what an import gives
 * (test/node/build.test.ts requires every one through a built chunk).
 */
export const REQUIRABLE = new Set([
  'node:async_hooks',
  'node:buffer',
  'node:crypto',
  'node:events',
  'node:fs',
  'node:stream',
  'node:util',
])

/** The parameters workerd's CommonJS wrapper gives a module's code. */
const COMMONJS_WRAPPER = ['exports', 'require', 'module', '__filename', '__dirname']

const laterWrittenError = (name: string, exported: string) =>
  `${name}: export ${exported} is assigned inside a function, after its module ran; ` +
  'a CommonJS chunk keeps the value it had then'

/**
 * A module's top-level names, and those of them that code inside a function (or class) assigns:
 * the only bindings whose value can change after the module was evaluated, which a copy taken by
 * a CommonJS chunk (`const{a:x}=require(…)`, `module.exports={…}`) would miss.
 */
function topLevelOf(
  code: string,
  name: string,
): { declared: Set<string>; laterWritten: Set<string> } {
  let ast: ReturnType<typeof parseJs>
  try {
    ast = parseJs(code, { ecmaVersion: 'latest', sourceType: 'module', ranges: true })
  } catch (error) {
    throw new Error(`${name}: cannot be parsed: ${(error as Error).message}`)
  }
  const manager = analyze(ast as Parameters<typeof analyze>[0], {
    ecmaVersion: 2024,
    sourceType: 'module',
  })
  const top = manager.scopes.find((s) => s.type === 'module')
  const declared = new Set<string>()
  const laterWritten = new Set<string>()
  for (const variable of top?.variables ?? []) {
    declared.add(variable.name)
    const later = variable.references.some(
      (r) => r.isWrite() && !r.init && r.from.variableScope !== top,
    )
    if (later) laterWritten.add(variable.name)
  }
  return { declared, laterWritten }
}

/** One static import statement of a chunk as a `require` (esbuild's minified import forms only). */
function requireOf(statement: string, target: string, chunk: boolean, name: string): string {
  const from = JSON.stringify(target)
  const bare = /^import\s*["'][^"']+["']$/.exec(statement)
  if (bare) return `require(${from});`
  const clause = /^import\s*(.*?)\s*from\s*["'][^"']+["']$/s.exec(statement)?.[1] ?? ''
  const named = /^\{([^}]*)\}$/.exec(clause)?.[1]
  if (named !== undefined) {
    const pairs = named
      .split(',')
      .filter((p) => p.trim())
      .map((p) => {
        const [imported, local] = p.trim().split(/\s+as\s+/)
        if (!imported || !/^[\w$]+$/.test(imported) || (local && !/^[\w$]+$/.test(local))) {
          throw new Error(`${name}: cannot convert ${statement}`)
        }
        return `${imported}:${local ?? imported}`
      })
    return `const{${pairs.join(',')}}=require(${from});`
  }
  const namespace = /^\*\s*as\s+([\w$]+)$/.exec(clause)?.[1]
  if (namespace) return `const ${namespace}=require(${from});`
  // A default import of a built-in (`node:fs`): require gives the module itself.
  if (/^[\w$]+$/.test(clause) && !chunk) return `const ${clause}=require(${from});`
  throw new Error(`${name}: cannot convert ${statement}`)
}

/**
 * An eagerly evaluated chunk that a CommonJS chunk requires: workerd's `require` of an ES module
 * returns its default export, so it exports its own namespace as default (a module may import
 * itself; the namespace's bindings stay live). Appended after the code, so its map still holds.
 */
function exportNamespace(code: string, name: string): string {
  lexerInit()
  const [, exports] = parseModule(code)
  if (exports.some((e) => e.n === 'default')) throw new Error(`${name}: has a default export`)
  const { laterWritten } = topLevelOf(code, name)
  for (const e of exports) {
    if (e.ln !== undefined && laterWritten.has(e.ln)) throw new Error(laterWrittenError(name, e.n))
  }
  const self = JSON.stringify(`./${basename(name)}`)
  const mapComment = code.match(MAP_COMMENT)
  const at = mapComment?.index ?? code.length
  return `${code.slice(0, at)}\nimport*as ${PREFIX}self from${self};export default ${PREFIX}self;${mapComment ? `\n${mapComment[0].trim()}` : ''}\n`
}

/** A converted chunk's source map: the same mappings one generated line down, for `file`. */
function shiftSourceMap(text: string, file: string): string {
  const map = JSON.parse(text) as { mappings: string }
  return JSON.stringify({ ...map, file: basename(file), mappings: `;${map.mappings}` })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWorker()
  const dist = join(ROOT, 'dist')
  const modules = (readdirSync(dist, { recursive: true }) as string[]).filter((f) =>
    /\.[mc]js$/.test(f),
  )
  const bytes = modules.reduce((sum, f) => sum + statSync(join(dist, f)).size, 0)
  console.log(`built dist/: ${modules.length} modules, ${(bytes / 1024).toFixed(0)} KiB`)
}
