/**
 * The Worker's build (src/cli/build.ts) changes what the runtime gets beyond bundling: what it
 * leaves out of zod must not change what zod does, and the chunks it wraps (so workerd only
 * pre-parses them at startup) must behave, and map back to their sources, as esbuild wrote them.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { buildWorker, deferCompilation } from '../../src/cli/build'
import { bundleSourceMaps } from '../bench/build'

// Inside the repo's node_modules, so the entry resolves packages as src/ does.
const cache = join(import.meta.dirname, '..', '..', 'node_modules', '.cache')
mkdirSync(cache, { recursive: true })
const tmp = mkdtempSync(join(cache, 'build-test-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('buildWorker', () => {
  it("keeps zod's English messages and leaves its other locales out", async () => {
    const entry = join(tmp, 'entry.ts')
    writeFileSync(
      entry,
      [
        "import { z } from '@hono/zod-openapi'",
        'export const locales = Object.keys(z.locales)',
        'export const message = z.object({ amount: z.number().int() }).safeParse({ amount: "1" }).error?.issues[0]?.message',
        '',
      ].join('\n'),
    )
    const outdir = join(tmp, 'out')
    const metafile = await buildWorker({ entry, outdir })
    const built = (await import(pathToFileURL(join(outdir, 'index.mjs')).href)) as {
      locales: string[]
      message: string
    }
    expect(built.locales).toEqual(['en'])
    expect(built.message).toBe('Invalid input: expected number, received string')
    const inputs = Object.keys(metafile.inputs)
    expect(inputs.some((f) => f.includes('zod/v4/locales/en.js'))).toBe(true)
    expect(inputs.some((f) => f.includes('zod/v4/locales/de.js'))).toBe(false)
  })
})

interface Counter {
  n: number
  add(k: number): Counter
}

describe('chunks no cold isolate evaluates', () => {
  const dir = join(tmp, 'lazy')
  const outdir = join(dir, 'out')
  const files: Record<string, string> = {
    'shared.ts': [
      'export const registry = new Map<string, number>()',
      'export function note(key: string) { registry.set(key, (registry.get(key) ?? 0) + 1) }',
    ].join('\n'),
    'lazy.ts': [
      "import { note, registry } from './shared'",
      "note('lazy evaluated')",
      'export class Counter { n = 0; add(k: number) { this.n += k; return this } }',
      'export const table = [1, 2, 3].map((x) => x * 10)',
      "export function where() { return new Error('lazy-marker').stack ?? '' }",
      'export { registry }',
      "export default function shout(s: string) { note('shout'); return s.toUpperCase() }",
    ].join('\n'),
    'entry.ts': [
      "import { note, registry } from './shared'",
      "note('entry evaluated')",
      'export { registry }',
      "export const loadLazy = () => import('./lazy')",
    ].join('\n'),
  }

  it('are wrapped in a function and export the same values, sharing state with the entry', async () => {
    mkdirSync(dir, { recursive: true })
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), `${text}\n`)
    await buildWorker({ entry: join(dir, 'entry.ts'), outdir })
    const chunks = readdirSync(join(outdir, 'chunks')).filter((f) => f.endsWith('.mjs'))
    const lazyFile = chunks.find((f) => f.startsWith('lazy-'))
    const sharedFile = chunks.find((f) => !f.startsWith('lazy-'))
    expect(lazyFile).toBeDefined()
    expect(sharedFile).toBeDefined()
    const lazyCode = readFileSync(join(outdir, 'chunks', lazyFile ?? ''), 'utf8')
    expect(lazyCode.startsWith('function $qrc$init(){\n')).toBe(true)
    // The entry and what it imports statically run at startup anyway: left as esbuild wrote them.
    for (const eager of ['index.mjs', join('chunks', sharedFile ?? '')]) {
      expect(readFileSync(join(outdir, eager), 'utf8')).not.toContain('$qrc$')
    }

    const entry = (await import(pathToFileURL(join(outdir, 'index.mjs')).href)) as {
      registry: Map<string, number>
      loadLazy(): Promise<{
        Counter: new () => Counter
        table: number[]
        where(): string
        registry: Map<string, number>
        default(s: string): string
      }>
    }
    expect([...entry.registry.keys()]).toEqual(['entry evaluated'])
    const lazy = await entry.loadLazy()
    expect(lazy.registry).toBe(entry.registry)
    expect(entry.registry.get('lazy evaluated')).toBe(1)
    expect(new lazy.Counter().add(2).add(3).n).toBe(5)
    expect(lazy.table).toEqual([10, 20, 30])
    expect(lazy.default('hi')).toBe('HI')
    expect(entry.registry.get('shout')).toBe(1)
    expect(await entry.loadLazy()).toBe(lazy)
    expect(entry.registry.get('lazy evaluated')).toBe(1)

    // Every character keeps its column, one line down, and the map says so.
    const line = lazyCode
      .split('\n')
      .findIndex((l) => l.includes("'lazy-marker'") || l.includes('"lazy-marker"'))
    const column = lazyCode.split('\n')[line]?.search(/["']lazy-marker/) ?? -1
    expect(line).toBeGreaterThan(0)
    const lookup = bundleSourceMaps({
      dir: outdir,
      main: join(outdir, 'index.mjs'),
      bytes: 0,
      gzipBytes: 0,
      modules: [join('chunks', lazyFile ?? '')],
    })
    expect(lookup(`chunks/${lazyFile}`, line, column)?.at).toMatch(/lazy\.ts:5$/)
  })

  it('refuses, failing the build, what it cannot wrap', () => {
    expect(() => deferCompilation('const x = await fetch("/");export{x as y};', 'tla.mjs')).toThrow(
      /tla\.mjs: cannot be wrapped/,
    )
    expect(() => deferCompilation('const $qrc$init = 1;export{$qrc$init as y};', 'n.mjs')).toThrow(
      /already contains/,
    )
    expect(() => deferCompilation('export default 1;', 'd.mjs')).toThrow(/export/)
  })
})
