/**
 * The bench's own measuring tools, where a mistake would quietly mislabel a result: source-map
 * attribution of profile samples in a split build, and the load generator's pause count.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'
import { type Bundle, bundleSourceMaps } from '../../bench/build'
import { load } from '../../bench/load'

const tmp = mkdtempSync(join(tmpdir(), 'bench-tools-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** (0-based line, column) of `needle` in `text`. */
function positionOf(text: string, needle: string): [number, number] {
  const at = text.indexOf(needle)
  expect(at).toBeGreaterThanOrEqual(0)
  const before = text.slice(0, at).split('\n')
  return [before.length - 1, (before.at(-1) ?? '').length]
}

describe('bundleSourceMaps', () => {
  it('maps a position in a split chunk back to its source file and line', async () => {
    const src = join(tmp, 'src')
    mkdirSync(src, { recursive: true })
    writeFileSync(
      join(src, 'entry.ts'),
      "export default { fetch: async () => (await import('./late')).answer() }\n",
    )
    writeFileSync(
      join(src, 'late.ts'),
      [
        '// line 1',
        'export function answer() {',
        "  return new Response('FROM_LATE_MODULE')",
        '}',
        '',
      ].join('\n'),
    )
    const out = join(tmp, 'out')
    await build({
      entryPoints: { index: join(src, 'entry.ts') },
      outdir: out,
      bundle: true,
      format: 'esm',
      splitting: true,
      minify: true,
      sourcemap: 'linked',
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
    })
    const chunk = readdirSync(join(out, 'chunks')).find(
      (f) => f.startsWith('late-') && f.endsWith('.mjs'),
    )
    expect(chunk).toBeDefined()
    const modules = ['index.mjs', `chunks/${chunk}`]
    const bundle: Bundle = {
      dir: out,
      main: join(out, 'index.mjs'),
      bytes: 0,
      gzipBytes: 0,
      modules,
    }
    const lookup = bundleSourceMaps(bundle)
    const code = readFileSync(join(out, 'chunks', chunk as string), 'utf8')
    const [line, column] = positionOf(code, 'FROM_LATE_MODULE')

    // The runtime names modules with or without a prefix; both resolve to the chunk's own map.
    expect(lookup(`chunks/${chunk}`, line, column)).toEqual({
      origin: 'src/late.ts',
      at: 'src/late.ts:3',
    })
    expect(lookup(`file:///bundle/chunks/${chunk}`, line, column)?.at).toBe('src/late.ts:3')
    // Not a module of this bundle: nothing, rather than another module's source.
    expect(lookup('chunks/other.mjs', line, column)).toBeUndefined()
  })
})

describe('load: pauses', () => {
  it('counts a stretch with no response as a pause of its length', async () => {
    let n = 0
    const server = createServer((_req, res) => {
      n++
      // One answer in the middle of the run comes 40 ms late; the only connection waits for it.
      setTimeout(() => res.writeHead(302, { location: '/' }).end(), n === 200 ? 40 : 0)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as { port: number }
      const result = await load({
        origin: new URL(`http://127.0.0.1:${port}/`),
        connections: 1,
        amount: 400,
        path: () => '/x',
      })
      expect(result.requests).toBe(400)
      expect(result.pauses.over16).toBeGreaterThanOrEqual(1)
      expect(result.pauses.totalMs).toBeGreaterThanOrEqual(39)
      expect(result.pauses.over4).toBeGreaterThanOrEqual(result.pauses.over8)
      expect(result.pauses.over8).toBeGreaterThanOrEqual(result.pauses.over16)
      expect(result.max).toBeGreaterThanOrEqual(39)
    } finally {
      server.close()
    }
  })
})
