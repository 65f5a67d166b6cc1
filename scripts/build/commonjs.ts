/**
 * The build's CommonJS rewrite. workerd compiles every uploaded ES module when the Worker loads,
 * imported or not, but a CommonJS module only when it is first required. So each chunk no cold
 * isolate evaluates (`lazy-chunks.ts`) becomes a CommonJS module (`chunks/x.cjs`), and its ES
 * module name (`chunks/x.mjs`, which `import()` calls name) a stub of one line that imports it and
 * re-exports what it exports.
 *
 * It reads the text esbuild writes (its minified import and export statements), so an esbuild
 * upgrade can break it: it then fails the build with the chunk's name rather than the Worker, and
 * `QRC_BUILD_PLAIN=1` skips it (see `index.ts`).
 */
import { basename, dirname, join, relative } from 'node:path'
import { compileFunction } from 'node:vm'
import { initSync as lexerInit, parse as parseModule } from 'es-module-lexer'
import { topLevelOf } from './top-level'

/**
 * Converts, in `texts` (output path relative to the output directory → text), every chunk in
 * `lazy` to CommonJS behind its stub, moves its source map along, and gives each eagerly evaluated
 * chunk a converted one requires its own namespace as default export.
 */
export function rewriteLazyChunks(texts: Map<string, string>, lazy: ReadonlySet<string>): void {
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
}

const PREFIX = '$qrc$'
/** esbuild's last line naming the module's source map. */
const MAP_COMMENT = /\n?\/\/# sourceMappingURL=[^\n]*\s*$/
const commonJsName = (name: string) => name.replace(/\.mjs$/, '.cjs')
const isChunk = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../')

/**
 * One chunk as CommonJS. In the CommonJS module, line 1 is `"use strict"` and a `require` for
 * each static import, line 2 onwards is the chunk as esbuild wrote it with its import and export
 * statements blanked with spaces in place, so every character of the code keeps its column, one
 * line down (the chunk's source map only shifts, `shiftSourceMap`), and the last line assigns
 * `module.exports`. Exports are the values once the body ran: an export assigned later is refused
 * (`topLevelOf`), and chunks in an import cycle stay ES modules (`lazyChunks`). Another lazy chunk
 * is required as CommonJS; a chunk that is evaluated eagerly stays an ES module, and workerd's
 * `require` of an ES module returns its default export, so such a chunk gets its own namespace as
 * default export (`exportNamespace`). The result is parsed again: what cannot be converted
 * (top-level `await`, `import.meta`) fails the build rather than the Worker.
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
