/**
 * The Worker's build (scripts/build/) changes what the runtime gets beyond bundling: what it
 * leaves out of zod must not change what zod does, and the chunks it turns into CommonJS (which
 * workerd compiles only when first required) must behave, and map back to their sources, as the
 * ES modules esbuild wrote. The plain build (`QRC_BUILD_PLAIN=1`), the fallback should an esbuild
 * upgrade break that rewrite, must give a Worker that runs as well.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Miniflare } from 'miniflare'
import { afterAll, describe, expect, it } from 'vitest'
import { bundleSourceMaps, ROOT } from '../../bench/build'
import { readAppConfig, startWorker } from '../../bench/workerd'
import { REQUIRABLE, toCommonJs } from '../../scripts/build/commonjs'
import { buildWorker, PLAIN_BUILD_ENV } from '../../scripts/build/index'

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

/** What the entry below answers, in Node and in workerd: the lazy chunk used, and shared state. */
interface Report {
  before: string[]
  sameRegistry: boolean
  counted: number
  table: number[]
  shout: string
  shouts: number
  evaluations: number
  cached: boolean
  /** A second lazy module sharing a lazy chunk with the first: one instance of it. */
  sharedTally: number[]
  /** Whether each built-in a CommonJS chunk may require gave it a module with exports. */
  builtins: boolean[]
}

describe('chunks no cold isolate evaluates', () => {
  const dir = join(tmp, 'lazy')
  const outdir = join(dir, 'out')
  const files: Record<string, string> = {
    'shared.ts': [
      'export const registry = new Map<string, number>()',
      'export function note(key: string) { registry.set(key, (registry.get(key) ?? 0) + 1) }',
    ].join('\n'),
    'tally.ts': [
      'export const tally: number[] = []',
      'export function count(n: number) { tally.push(n); return tally }',
    ].join('\n'),
    'builtins.ts': [
      ...[...REQUIRABLE].map((b, i) => `import * as b${i} from '${b}'`),
      `export const loaded = () => [${[...REQUIRABLE].map((_, i) => `Object.keys(b${i}).length > 0`).join(', ')}]`,
    ].join('\n'),
    'lazy2.ts': ["import { count } from './tally'", 'export const again = () => count(2)'].join(
      '\n',
    ),
    'lazy.ts': [
      "import { note, registry } from './shared'",
      "import { count } from './tally'",
      'count(1)',
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
      "export const loadLazy2 = () => import('./lazy2')",
      "export const loadBuiltins = () => import('./builtins')",
      'export async function report() {',
      '  const before = [...registry.keys()]',
      '  const lazy = await loadLazy()',
      '  return {',
      '    before,',
      '    sameRegistry: lazy.registry === registry,',
      '    counted: new lazy.Counter().add(2).add(3).n,',
      '    table: lazy.table,',
      "    shout: lazy.default('hi'),",
      "    shouts: registry.get('shout'),",
      "    evaluations: registry.get('lazy evaluated'),",
      '    cached: (await loadLazy()) === lazy,',
      '    sharedTally: (await loadLazy2()).again(),',
      '    builtins: (await loadBuiltins()).loaded(),',
      '  }',
      '}',
      'export default { async fetch() { return Response.json(await report()) } }',
    ].join('\n'),
  }
  const expected: Report = {
    before: ['entry evaluated'],
    sameRegistry: true,
    counted: 5,
    table: [10, 20, 30],
    shout: 'HI',
    shouts: 1,
    evaluations: 1,
    cached: true,
    sharedTally: [1, 2],
    builtins: [...REQUIRABLE].map(() => true),
  }

  it('become CommonJS modules behind ES module stubs, mapped one line down', async () => {
    mkdirSync(dir, { recursive: true })
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), `${text}\n`)
    await buildWorker({ entry: join(dir, 'entry.ts'), outdir })
    const chunks = readdirSync(join(outdir, 'chunks'))
    const lazyName = chunks.find((f) => /^lazy-.*\.mjs$/.test(f))?.replace(/\.mjs$/, '') ?? ''
    const read = (f: string) => readFileSync(join(outdir, f), 'utf8')
    // `shared` is imported by the entry (eager, an ES module); `tally` only by the lazy modules.
    const shared =
      chunks.find((f) => /^chunk-.*\.mjs$/.test(f) && read(`chunks/${f}`).includes('$qrc$self')) ??
      ''
    const tally = chunks.find((f) => /^chunk-.*\.cjs$/.test(f)) ?? ''
    expect(lazyName).not.toBe('')
    expect(shared).not.toBe('')
    expect(tally).not.toBe('')
    // import('./chunks/lazy-….mjs') still finds an ES module: one line that imports the CommonJS.
    expect(read(`chunks/${lazyName}.mjs`)).toMatch(
      new RegExp(`^import \\$qrc\\$m from "\\./${lazyName}\\.cjs";[^\\n]*export\\{[^\\n]*\\};\\n$`),
    )
    const commonJs = read(`chunks/${lazyName}.cjs`)
    expect(commonJs.startsWith('"use strict";')).toBe(true)
    expect(commonJs).toContain(`require("./${shared}")`)
    expect(commonJs).toContain(`require("./${tally}")`)
    expect(commonJs).toContain(`//# sourceMappingURL=${lazyName}.cjs.map`)
    // The entry runs at startup anyway and stays as esbuild wrote it; the shared chunk it imports
    // gains a default export of its own namespace, for the CommonJS chunk's require.
    expect(read('index.mjs')).not.toContain('$qrc$')
    expect(read(`chunks/${shared}`)).toMatch(/export default \$qrc\$self;/)

    // Every character keeps its column, one line down, and the map says so.
    const lines = commonJs.split('\n')
    const line = lines.findIndex((l) => /["']lazy-marker/.test(l))
    const column = lines[line]?.search(/["']lazy-marker/) ?? -1
    expect(line).toBeGreaterThan(0)
    const lookup = bundleSourceMaps({
      dir: outdir,
      main: join(outdir, 'index.mjs'),
      bytes: 0,
      gzipBytes: 0,
      modules: [`chunks/${lazyName}.cjs`],
    })
    expect(lookup(`chunks/${lazyName}.cjs`, line, column)?.at).toMatch(/lazy\.ts:7$/)
  })

  /** What the built entry at `at` answers in workerd, then in Node. */
  async function reports(at: string): Promise<[Report, Report]> {
    const mf = new Miniflare({
      compatibilityDate: '2026-07-30',
      compatibilityFlags: ['nodejs_compat'],
      modules: true,
      scriptPath: join(at, 'index.mjs'),
      modulesRoot: at,
      modulesRules: [
        { type: 'ESModule', include: ['**/*.mjs'] },
        { type: 'CommonJS', include: ['**/*.cjs'] },
      ],
    })
    let inWorkerd: Report
    try {
      inWorkerd = (await (await mf.dispatchFetch('http://localhost/')).json()) as Report
    } finally {
      await mf.dispose()
    }
    const entry = (await import(pathToFileURL(join(at, 'index.mjs')).href)) as {
      report(): Promise<Report>
    }
    return [inWorkerd, await entry.report()]
  }

  it('behave as the ES modules did, in workerd and in Node', async () => {
    expect(await reports(outdir)).toEqual([expected, expected])
  })

  it(`stay ES modules as esbuild wrote them in the plain build (${PLAIN_BUILD_ENV}=1)`, async () => {
    const plain = join(dir, 'plain')
    const before = process.env[PLAIN_BUILD_ENV]
    // As wrangler's [build] command would see it: the switch in the environment.
    process.env[PLAIN_BUILD_ENV] = '1'
    try {
      await buildWorker({ entry: join(dir, 'entry.ts'), outdir: plain })
    } finally {
      if (before === undefined) delete process.env[PLAIN_BUILD_ENV]
      else process.env[PLAIN_BUILD_ENV] = before
    }
    const modules = readdirSync(plain, { recursive: true }) as string[]
    expect(modules.filter((f) => f.endsWith('.cjs'))).toEqual([])
    expect(modules.some((f) => /^chunks[\\/]lazy-.*\.mjs$/.test(f))).toBe(true)
    for (const f of modules.filter((m) => m.endsWith('.mjs'))) {
      expect(readFileSync(join(plain, f), 'utf8')).not.toContain('$qrc$')
    }
    expect(await reports(plain)).toEqual([expected, expected])
  })

  it('refuses, failing the build, an eager export that changes after its module ran', async () => {
    const at = join(tmp, 'live')
    mkdirSync(at, { recursive: true })
    writeFileSync(join(at, 'hits.ts'), 'export let hits = 0\nexport function hit() { hits++ }\n')
    writeFileSync(
      join(at, 'lazy.ts'),
      "import { hits } from './hits'\nexport const read = () => hits\n",
    )
    writeFileSync(
      join(at, 'entry.ts'),
      "import { hit } from './hits'\nhit()\nexport const load = () => import('./lazy')\n",
    )
    await expect(
      buildWorker({ entry: join(at, 'entry.ts'), outdir: join(at, 'out') }),
    ).rejects.toThrow(/export \w+ is assigned inside a function/)
  })

  it('refuses, failing the build, what it cannot convert', () => {
    const lazy = new Set<string>()
    expect(() =>
      toCommonJs('let n=0;function b(){n++}export{n,b as bump};', 'live.mjs', lazy),
    ).toThrow(/live\.mjs: export n is assigned inside a function/)
    // Assigned while the module runs (a TypeScript namespace, say): the copy sees the final value.
    expect(toCommonJs('var y;y=5;(function(){y.z=1});export{y};', 'ok.mjs', lazy).commonJs).toMatch(
      /module\.exports=\{"y":y\};/,
    )
    expect(() =>
      toCommonJs('import{env as e}from"cloudflare:workers";export{e};', 'cf.mjs', lazy),
    ).toThrow(/imports cloudflare:workers, which a CommonJS chunk cannot require/)
    expect(() =>
      toCommonJs('import p from"node:process";const e=p.env;export{e};', 'p.mjs', lazy),
    ).toThrow(/imports node:process/)
    expect(() => toCommonJs('var module=1;export{module as m};', 'm.mjs', lazy)).toThrow(
      /declares `module`/,
    )
    expect(() => toCommonJs('const x = await fetch("/");export{x as y};', 'a.mjs', lazy)).toThrow(
      /a\.mjs: cannot become CommonJS/,
    )
    expect(() => toCommonJs('const u = import.meta.url;export{u};', 'b.mjs', lazy)).toThrow(
      /import\.meta/,
    )
    expect(() => toCommonJs('const $qrc$m = 1;export{$qrc$m as y};', 'c.mjs', lazy)).toThrow(
      /already contains/,
    )
    expect(() => toCommonJs('export default 1;', 'd.mjs', lazy)).toThrow(/export/)
    expect(() => toCommonJs('import x from"./chunk-a.mjs";export{x};', 'e.mjs', lazy)).toThrow(
      /cannot convert/,
    )
  })
})

describe('the plain build of the Worker', () => {
  it('runs in workerd and answers from the entry and from its chunks', async () => {
    const outdir = join(tmp, 'worker-plain')
    await buildWorker({ outdir, plain: true })
    const modules = readdirSync(outdir, { recursive: true }) as string[]
    expect(modules.filter((f) => f.endsWith('.cjs'))).toEqual([])
    const config = readAppConfig(join(ROOT, 'wrangler.toml'))
    const running = await startWorker({
      scriptPath: join(outdir, 'index.mjs'),
      compatibilityDate: config.runtimeCompatibilityDate,
      compatibilityFlags: config.compatibilityFlags,
      workerOptions: config.workerOptions,
    })
    try {
      // The entry's own route, then the full app's chunk (the API with zod), then an admin page.
      const health = await fetch(new URL('/health', running.url))
      expect(await health.json()).toEqual({ ok: true })
      const openapi = await fetch(new URL('/openapi.json', running.url))
      expect(openapi.status).toBe(200)
      expect(((await openapi.json()) as { openapi?: string }).openapi).toMatch(/^3\./)
      const signIn = await fetch(new URL('/admin/login', running.url))
      expect(signIn.status).toBe(200)
      expect(await signIn.text()).toContain('Sign in')
    } finally {
      await running.dispose()
    }
  }, 60_000)
})
