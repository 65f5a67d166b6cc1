/**
 * `npm run cf-typegen` must leave the committed worker-configuration.d.ts as it is: the file is
 * exactly what the command generates, so a change to wrangler.toml's bindings shows up here until
 * the types are regenerated.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')
const TYPES_FILE = 'worker-configuration.d.ts'
const tmp = mkdtempSync(join(tmpdir(), 'cf-typegen-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('npm run cf-typegen', () => {
  it('generates exactly the committed worker-configuration.d.ts, typed from the sources', async () => {
    const out = join(tmp, TYPES_FILE)
    await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'scripts', 'cf-typegen.ts'), out],
      { cwd: tmp, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
    )
    const generated = readFileSync(out, 'utf8')
    expect(generated).toContain('DurableObjectNamespace<import("./src/index").CodeHub>')
    expect(generated).toBe(readFileSync(join(ROOT, TYPES_FILE), 'utf8'))
  }, 60_000)
})
