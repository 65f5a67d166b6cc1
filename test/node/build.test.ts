/**
 * The Worker's build (src/cli/build.ts) changes what the runtime gets beyond bundling: here, what
 * it leaves out of zod must not change what zod does.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { buildWorker } from '../../src/cli/build'

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
