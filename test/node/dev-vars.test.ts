/**
 * `npm run dev` writes the local secrets and `ENVIRONMENT=development` to `.dev.vars` itself;
 * `.dev.vars.example` (committed) lists every secret and variable, and a copy of it must not leave
 * the secrets dev needs empty.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { DEV_SECRETS, DEV_VARS, withDevVars } from '../../scripts/dev-vars'

const ROOT = join(import.meta.dirname, '..', '..')
const EXAMPLE = readFileSync(join(ROOT, '.dev.vars.example'), 'utf8')
const HEX_SECRET = /^[0-9a-f]{64}$/

/** NAME → value of the uncommented assignments, as wrangler's dotenv reads them. */
const assignments = (text: string) =>
  new Map(
    [...text.matchAll(/^[ \t]*(?:export[ \t]+)?([A-Z_]+)[ \t]*=(.*)$/gm)].map((m) => [
      m[1],
      m[2]?.trim(),
    ]),
  )

describe('.dev.vars', () => {
  it('is written with a fresh random value for each secret dev needs, and as development', () => {
    const { text, written } = withDevVars(undefined)
    expect(written).toEqual([...DEV_SECRETS, 'ENVIRONMENT'])
    for (const name of DEV_SECRETS) expect(assignments(text).get(name)).toMatch(HEX_SECRET)
    expect(assignments(text).get('ENVIRONMENT')).toBe('development')
  })

  it('runs dev as development, since wrangler.toml ships production', () => {
    expect(DEV_VARS).toEqual({ ENVIRONMENT: 'development' })
    const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
    expect(toml).toMatch(/^ENVIRONMENT = "production"$/m)
    // An empty value (a copy of an older example) is filled in; a chosen one is kept.
    expect(assignments(withDevVars('ENVIRONMENT=\n').text).get('ENVIRONMENT')).toBe('development')
    const chosen = withDevVars('ENVIRONMENT=production\n')
    expect(assignments(chosen.text).get('ENVIRONMENT')).toBe('production')
    expect(chosen.written).not.toContain('ENVIRONMENT')
  })

  it('fills in the empty secrets of a copy of .dev.vars.example and keeps every other line', () => {
    const { text, written } = withDevVars(EXAMPLE)
    expect(written).toEqual(DEV_SECRETS)
    for (const name of DEV_SECRETS) expect(assignments(text).get(name)).toMatch(HEX_SECRET)
    const untouched = (t: string) => t.split('\n').filter((l) => !/^[A-Z_]+=/.test(l))
    expect(untouched(text)).toEqual(untouched(EXAMPLE))
  })

  it('keeps the secrets it already holds and adds the missing ones', () => {
    const { text, written } = withDevVars('SESSION_SECRET = mine\nexport LIVE_TOKEN_SECRET=x')
    expect(written).toEqual(['VISITOR_HASH_SECRET', 'ENVIRONMENT'])
    expect(assignments(text).get('SESSION_SECRET')).toBe('mine')
    expect(assignments(text).get('LIVE_TOKEN_SECRET')).toBe('x')
    expect(withDevVars(text)).toEqual({ text, written: [] })
  })

  it('stays out of git, while the example is committed', async () => {
    const ignored = (path: string) =>
      promisify(execFile)('git', ['check-ignore', '-q', path], { cwd: ROOT }).then(
        () => true,
        () => false,
      )
    expect(await ignored('.dev.vars')).toBe(true)
    expect(await ignored('.dev.vars.example')).toBe(false)
  })
})

describe('.dev.vars.example', () => {
  it('names every secret and variable the Worker reads', () => {
    const named = new Set([...EXAMPLE.matchAll(/^#? ?([A-Z][A-Z_]+)=/gm)].map((m) => m[1]))
    const secrets = [
      ...readFileSync(join(ROOT, 'src', 'env.ts'), 'utf8').matchAll(/^ {2}([A-Z][A-Z_]+)\?:/gm),
    ].map((m) => m[1])
    const vars = [
      ...readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').matchAll(/^([A-Z_]+) = /gm),
    ].map((m) => m[1])
    expect(secrets.length).toBeGreaterThan(5)
    expect(vars).toContain('ENVIRONMENT')
    for (const name of [...secrets, ...vars]) expect(named, name).toContain(name)
  })
})
