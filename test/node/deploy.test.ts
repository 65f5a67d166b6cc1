/**
 * `npm run deploy` fails closed: it refuses, saying what to set, unless wrangler.toml says
 * production with an https PUBLIC_BASE_URL and a real D1 id, and the deployed Worker has every
 * secret production needs. All offline: wrangler's secret listing is replaced, or (end to end)
 * cannot be asked, having no credentials.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { type DeployIo, deploy, parseDeployArgs, readDeployConfig } from '../../scripts/deploy'
import {
  type DeployConfig,
  isHttpsOrigin,
  PLACEHOLDER_DATABASE_ID,
  PLATFORM_SECRETS,
  preflight,
  REQUIRED_SECRETS,
} from '../../scripts/deploy-preflight'

const ROOT = join(import.meta.dirname, '..', '..')
const tmp = mkdtempSync(join(tmpdir(), 'deploy-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const READY: DeployConfig = {
  vars: { ENVIRONMENT: 'production', PUBLIC_BASE_URL: 'https://qr.example.com' },
  databaseId: '6d1a8e0c-3b0f-4c47-9d3e-5f0a6b7c8d9e',
}
const ALL_SECRETS = { names: Object.keys(REQUIRED_SECRETS) }
const withVars = (vars: Record<string, unknown>): DeployConfig => ({
  ...READY,
  vars: { ...READY.vars, ...vars },
})

/** The shipped wrangler.toml with its [vars] and D1 id replaced, written to a file of its own. */
function toml(name: string, changes: { vars?: Record<string, string>; databaseId?: string }) {
  let text = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
  for (const [key, value] of Object.entries(changes.vars ?? {})) {
    text = text.replace(new RegExp(`^${key} = .*$`, 'm'), `${key} = ${JSON.stringify(value)}`)
  }
  if (changes.databaseId) text = text.replace(PLACEHOLDER_DATABASE_ID, changes.databaseId)
  const path = join(tmp, name)
  writeFileSync(path, text)
  return path
}

describe('the deploy preflight', () => {
  it('lets a production configuration with every secret through', () => {
    expect(preflight(READY, ALL_SECRETS)).toEqual({ problems: [], warnings: [] })
  })

  it('asks platform mode for the Connect webhook secret too, and refuses an unknown mode', () => {
    const platform = withVars({ PAYMENT_MODE: 'platform' })
    const missing = preflight(platform, ALL_SECRETS).problems
    expect(missing).toHaveLength(1)
    expect(missing[0]).toMatch(
      /STRIPE_CONNECT_WEBHOOK_SECRET is not set.*webhooks\/stripe\/connect/,
    )
    const names = [...ALL_SECRETS.names, ...Object.keys(PLATFORM_SECRETS)]
    expect(preflight(platform, { names })).toEqual({ problems: [], warnings: [] })
    expect(preflight(withVars({ PAYMENT_MODE: 'one_business' }), ALL_SECRETS).problems).toEqual([])
    const typo = preflight(withVars({ PAYMENT_MODE: 'platfrom' }), ALL_SECRETS).problems
    expect(typo).toEqual([expect.stringMatching(/PAYMENT_MODE is "platfrom".*unpayable/)])
  })

  it.each([
    ['development', { ENVIRONMENT: 'development' }, /ENVIRONMENT is "development".*"production"/],
    ['no ENVIRONMENT', { ENVIRONMENT: undefined }, /ENVIRONMENT is not set/],
    ['an empty PUBLIC_BASE_URL', { PUBLIC_BASE_URL: '' }, /PUBLIC_BASE_URL is empty.*https:\/\//],
    ['a blank PUBLIC_BASE_URL', { PUBLIC_BASE_URL: '  ' }, /PUBLIC_BASE_URL is empty/],
    ['an http origin', { PUBLIC_BASE_URL: 'http://qr.example.com' }, /not an https origin/],
    ['a path', { PUBLIC_BASE_URL: 'https://qr.example.com/qr' }, /not an https origin/],
    ['no scheme', { PUBLIC_BASE_URL: 'qr.example.com' }, /not an https origin/],
    [
      'a secret in [vars]',
      { SESSION_SECRET: 'abc' },
      /SESSION_SECRET is in wrangler.toml \[vars\]/,
    ],
    ['a Stripe fake', { STRIPE_API_HOST: 'localhost' }, /STRIPE_API_HOST is set/],
  ])('refuses %s, saying what to set', (_, vars, reason) => {
    const { problems } = preflight(withVars(vars), ALL_SECRETS)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(reason)
  })

  it('refuses the placeholder D1 id', () => {
    const { problems } = preflight({ ...READY, databaseId: PLACEHOLDER_DATABASE_ID }, ALL_SECRETS)
    expect(problems).toEqual([expect.stringMatching(/wrangler d1 create/)])
  })

  it('names each missing secret with the command that sets it', () => {
    const { problems } = preflight(READY, { names: ['SESSION_SECRET', 'SOMETHING_ELSE'] })
    expect(problems).toEqual([
      expect.stringMatching(
        /^STRIPE_SECRET_KEY is not set: npx wrangler secret put STRIPE_SECRET_KEY/,
      ),
      expect.stringMatching(
        /^STRIPE_WEBHOOK_SECRET is not set: .*secret put STRIPE_WEBHOOK_SECRET/,
      ),
      expect.stringMatching(/^VISITOR_HASH_SECRET is not set: .*secret put VISITOR_HASH_SECRET/),
      expect.stringMatching(/^LIVE_TOKEN_SECRET is not set: .*secret put LIVE_TOKEN_SECRET/),
    ])
    expect(Object.keys(REQUIRED_SECRETS).sort()).toEqual(
      [
        'LIVE_TOKEN_SECRET',
        'SESSION_SECRET',
        'STRIPE_SECRET_KEY',
        'STRIPE_WEBHOOK_SECRET',
        'VISITOR_HASH_SECRET',
      ].sort(),
    )
  })

  it('refuses a Stripe fake left as a secret', () => {
    const { problems } = preflight(READY, { names: [...ALL_SECRETS.names, 'STRIPE_API_PORT'] })
    expect(problems).toEqual([expect.stringMatching(/secret delete STRIPE_API_PORT/)])
  })

  it('refuses when the secrets cannot be listed, unless told to skip, and then warns', () => {
    const unavailable = { unavailable: 'not signed in' }
    const refused = preflight(READY, unavailable)
    expect(refused.problems).toEqual([
      expect.stringMatching(/could not list .*not signed in.*wrangler login.*--skip-secret-check/),
    ])
    const skipped = preflight(READY, unavailable, { skipSecretCheck: true })
    expect(skipped.problems).toEqual([])
    expect(skipped.warnings).toEqual([expect.stringMatching(/NOT checked/)])
    // Skipping never overrules a listing that worked.
    const listed = preflight(READY, { names: [] }, { skipSecretCheck: true })
    expect(listed.problems).toHaveLength(5)
  })

  it('knows an https origin', () => {
    for (const ok of ['https://qr.example.com', 'https://qr.example.com/', 'https://x.io:8443']) {
      expect(isHttpsOrigin(ok), ok).toBe(true)
    }
    for (const bad of [
      '',
      'https://',
      'https://a.b/c',
      'https://a.b?x',
      'https://u@a.b',
      'ftp://a.b',
    ]) {
      expect(isHttpsOrigin(bad), bad).toBe(false)
    }
  })
})

describe('wrangler.toml as shipped', () => {
  it('says production, so that even a bare wrangler deploy fails closed', () => {
    const { vars } = readDeployConfig(join(ROOT, 'wrangler.toml'))
    expect(vars.ENVIRONMENT).toBe('production')
  })

  it('is refused for its empty PUBLIC_BASE_URL and placeholder D1 id', () => {
    const { problems } = preflight(readDeployConfig(join(ROOT, 'wrangler.toml')), ALL_SECRETS)
    expect(problems).toEqual([
      expect.stringMatching(/^PUBLIC_BASE_URL is empty/),
      expect.stringMatching(/placeholder/),
    ])
  })

  it('reads [vars] as wrangler does', () => {
    const path = toml('dev.toml', {
      vars: { ENVIRONMENT: 'development', PUBLIC_BASE_URL: 'https://qr.example.com' },
      databaseId: READY.databaseId as string,
    })
    expect(readDeployConfig(path)).toMatchObject({
      vars: { ENVIRONMENT: 'development', PUBLIC_BASE_URL: 'https://qr.example.com' },
      databaseId: READY.databaseId,
    })
  })
})

describe('npm run deploy', () => {
  /** The command with wrangler replaced: what it printed and which wrangler commands it ran. */
  function run(args: string[], config: DeployConfig, secrets = ALL_SECRETS, exitCodes = [0, 0]) {
    const lines: string[] = []
    const ran: string[][] = []
    const io: DeployIo = {
      readConfig: () => config,
      listSecrets: () => secrets,
      run: (a) => {
        ran.push(a)
        return exitCodes[ran.length - 1] ?? 0
      },
      log: (line) => lines.push(line),
    }
    return { code: deploy(args, io), out: lines.join('\n'), ran }
  }

  it('migrates, then deploys, once the preflight passes', () => {
    const { code, ran } = run([], READY)
    expect(code).toBe(0)
    expect(ran).toEqual([
      ['d1', 'migrations', 'apply', 'DB', '--remote', '--config', 'wrangler.toml'],
      ['deploy', '--config', 'wrangler.toml'],
    ])
  })

  it('refuses before touching anything remote, listing every problem', () => {
    const { code, out, ran } = run(
      [],
      withVars({ ENVIRONMENT: 'development', PUBLIC_BASE_URL: '' }),
    )
    expect(code).toBe(1)
    expect(ran).toEqual([])
    expect(out).toMatch(/Refusing to deploy/)
    expect(out).toMatch(/1\. ENVIRONMENT is "development"/)
    expect(out).toMatch(/2\. PUBLIC_BASE_URL is empty/)
  })

  it('does not deploy when the migrations fail', () => {
    const { code, ran } = run([], READY, ALL_SECRETS, [1])
    expect(code).toBe(1)
    expect(ran).toHaveLength(1)
  })

  it('only checks with --check, and takes another configuration with --config', () => {
    const { code, ran, out } = run(['--check', '--config', 'staging.toml'], READY)
    expect(code).toBe(0)
    expect(ran).toEqual([])
    expect(out).toMatch(/Preflight passed \(staging\.toml\)/)
  })

  it('passes nothing else on to wrangler', () => {
    expect(parseDeployArgs(['--var', 'ENVIRONMENT:development'])).toEqual({
      error: expect.stringMatching(/Unknown argument "--var"/),
    })
    const { code, ran } = run(['--var', 'ENVIRONMENT:development'], READY)
    expect(code).toBe(2)
    expect(ran).toEqual([])
  })

  it('refuses the shipped wrangler.toml end to end, offline and without credentials', async () => {
    const home = mkdtempSync(join(tmp, 'home-'))
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: home, CI: '1' }
    for (const name of Object.keys(env)) if (/^(CLOUDFLARE|CF)_/.test(name)) env[name] = undefined
    const refused = await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'scripts', 'deploy.ts'), '--check', '--config', join(ROOT, 'wrangler.toml')],
      { cwd: ROOT, env },
    ).then(
      () => undefined,
      (err: { code?: number; stdout?: string }) => err,
    )
    expect(refused?.code).toBe(1)
    expect(refused?.stdout).toMatch(/Refusing to deploy/)
    expect(refused?.stdout).toMatch(/PUBLIC_BASE_URL is empty/)
    expect(refused?.stdout).toMatch(/could not list the Worker's secrets/)
  }, 60_000)
})
