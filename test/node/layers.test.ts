/**
 * The layering of src/ (docs/architecture.md, "Layers"), held over the import graph: each file's
 * layer comes from where it lives, and an import may only point at a layer its own may use. An
 * import against the layers, a cycle between domain folders, an import of no file, or a file in no
 * layer fails here with the file, the import and the rule.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = resolve(import.meta.dirname, '..', '..', 'src')

type Layer = 'foundation' | 'pages' | 'domain' | 'surface'

/** What each layer may import (its own layer included). */
const MAY_IMPORT: Record<Layer, Layer[]> = {
  foundation: ['foundation'],
  pages: ['foundation', 'pages'],
  domain: ['foundation', 'pages', 'domain'],
  surface: ['foundation', 'pages', 'domain', 'surface'],
}

/** Where each layer lives: folders end with `/`, anything else is one file. */
const PLACES: Record<Layer, string[]> = {
  /** Knows nothing of the product: helpers, money, the database, the environment, errors. */
  foundation: ['lib/', 'money/', 'db/', 'env.ts', 'errors.ts'],
  /** The customer pages' layout and styles, shared by every surface that renders a page. */
  pages: ['pages/'],
  /** The capabilities: what the product does, free of HTTP routing. */
  domain: ['codes/', 'auth/', 'scan/', 'hub/', 'payments/', 'stats/', 'qr/'],
  /** The entry points and the HTTP surfaces. */
  surface: ['api/', 'admin/', 'checkout/', 'app.tsx', 'edge.tsx', 'http.tsx', 'index.ts'],
}

/** A domain folder's routes files (`routes.ts`, `live-routes.ts`…) are surface too. */
const ROUTES_FILE = /(^|\/)([a-z-]+-)?routes\.tsx?$/

const isIn = (file: string, place: string) =>
  place.endsWith('/') ? file.startsWith(place) : file === place

/** The layer of a file under src/; undefined for a place no layer names yet. */
function layerOf(file: string): Layer | undefined {
  if (ROUTES_FILE.test(file) && !isIn(file, 'pages/')) return 'surface'
  return (Object.keys(PLACES) as Layer[]).find((l) => PLACES[l].some((p) => isIn(file, p)))
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Every source file, as its path under src/ with `/` separators. */
const FILES = sourceFiles(SRC).map((f) => relative(SRC, f).split(sep).join('/'))
const KNOWN = new Set(FILES)

/**
 * Comments out of a file's text, those that start a line: a comment may quote an import that is
 * not there. Not a parser: what it misses can only add an import, never hide one.
 */
const withoutComments = (text: string) =>
  text.replace(/^\s*\/\*[\s\S]*?\*\//gm, '').replace(/^\s*\/\/.*$/gm, '')

/** Relative imports of a file (static, type-only, re-exports and dynamic), as written. */
function specifiersOf(file: string): string[] {
  const text = withoutComments(readFileSync(join(SRC, file), 'utf8'))
  return [
    ...text.matchAll(/\bfrom\s*['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s*['"](\.[^'"]+)['"]/gm),
  ].map((m) => m[1] as string)
}

/** The file under src/ an import names, as the bundler finds it; undefined if none. */
function resolveImport(from: string, spec: string): string | undefined {
  const target = join(dirname(from), spec).split(sep).join('/')
  return [target, `${target}.ts`, `${target}.tsx`, `${target}/index.ts`].find((t) => KNOWN.has(t))
}

describe('the layers of src/', () => {
  const imports = FILES.flatMap((from) =>
    specifiersOf(from).map((spec) => ({ from, spec, to: resolveImport(from, spec) })),
  )
  /** Imports between files that have a layer (the first two tests report the others). */
  const edges = imports.flatMap(({ from, to }) => {
    const fromLayer = layerOf(from)
    const toLayer = to === undefined ? undefined : layerOf(to)
    return to && fromLayer && toLayer ? [{ from, to, fromLayer, toLayer }] : []
  })

  it('places every file in a layer', () => {
    // A new folder is placed on purpose (here and in docs/architecture.md), never by default.
    expect(FILES.filter((file) => !layerOf(file))).toEqual([])
  })

  it('has every relative import name a source file under src/', () => {
    // An import the graph cannot follow would be an edge no rule sees.
    const unresolved = imports.filter(({ to }) => !to).map(({ from, spec }) => `${from}: '${spec}'`)
    expect(unresolved).toEqual([])
  })

  it('has no import against the layers', () => {
    const against = edges
      .filter(({ fromLayer, toLayer }) => !MAY_IMPORT[fromLayer].includes(toLayer))
      .map(
        ({ from, to, fromLayer, toLayer }) =>
          `${from} (${fromLayer}, may import ${MAY_IMPORT[fromLayer].join(', ')}) ` +
          `imports ${to} (${toLayer})`,
      )
    expect(against).toEqual([])
  })

  it('has no cycle between domain folders', () => {
    const graph = new Map<string, Set<string>>()
    for (const { from, to, fromLayer, toLayer } of edges) {
      const a = from.split('/')[0] as string
      const b = to.split('/')[0] as string
      if (fromLayer === 'domain' && toLayer === 'domain' && a !== b) {
        graph.set(a, (graph.get(a) ?? new Set()).add(b))
      }
    }
    const cycles = new Set<string>()
    const visit = (node: string, path: string[]) => {
      for (const next of graph.get(node) ?? []) {
        if (!path.includes(next)) visit(next, [...path, next])
        else {
          // Each cycle once, told from its first folder in alphabetical order.
          const ring = path.slice(path.indexOf(next))
          const first = ring.indexOf([...ring].sort()[0] as string)
          const rotated = [...ring.slice(first), ...ring.slice(0, first)]
          cycles.add([...rotated, rotated[0]].join(' → '))
        }
      }
    }
    for (const start of graph.keys()) visit(start, [start])
    expect([...cycles]).toEqual([])
  })

  it('classifies files as docs/architecture.md says', () => {
    expect(layerOf('lib/log.ts')).toBe('foundation')
    expect(layerOf('env.ts')).toBe('foundation')
    expect(layerOf('pages/layout.tsx')).toBe('pages')
    expect(layerOf('codes/cache.ts')).toBe('domain')
    expect(layerOf('hub/code-hub.ts')).toBe('domain')
    expect(layerOf('codes/routes.ts')).toBe('surface')
    expect(layerOf('hub/live-routes.ts')).toBe('surface')
    expect(layerOf('payments/webhook-routes.ts')).toBe('surface')
    expect(layerOf('admin/settings.tsx')).toBe('surface')
    expect(layerOf('index.ts')).toBe('surface')
    expect(layerOf('billing/plans.ts')).toBeUndefined()
  })
})
