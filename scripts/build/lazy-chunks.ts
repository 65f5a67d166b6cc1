/**
 * Which of esbuild's output modules a cold isolate never evaluates: the chunks the CommonJS
 * rewrite (`commonjs.ts`) may convert.
 */
import { relative, resolve } from 'node:path'
import type * as esbuild from 'esbuild'

/** The Worker's entry module, relative to the build's output directory. */
export const ENTRY = 'index.mjs'

/**
 * Every module except the entry and what it imports statically, leaving out any chunk that
 * statically imports itself back through others (in a cycle, a converted chunk's exports could be
 * read before its body ran). Paths relative to `outdir`.
 */
export function lazyChunks(metafile: esbuild.Metafile, outdir: string): Set<string> {
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
