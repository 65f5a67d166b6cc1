/**
 * `npm run deploy`: checks that the Worker would run as production (scripts/deploy-preflight.ts:
 * ENVIRONMENT, an https PUBLIC_BASE_URL, the D1 id, every secret, as the deployed Worker has them
 * per `wrangler secret list`), refuses with what to set if not, and otherwise applies the D1
 * migrations remotely, then runs `wrangler deploy`.
 *
 *   npm run deploy                         check, migrate, deploy
 *   npm run deploy -- --check              check only
 *   npm run deploy -- --config other.toml  another configuration (a staging Worker, say)
 *   npm run deploy -- --skip-secret-check  deploy without the secret check, honoured only when
 *                                          wrangler cannot list the secrets
 *
 * Nothing else is passed on to wrangler: a `--var ENVIRONMENT:development` must not slip past
 * the check.
 */
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { unstable_readConfig } from 'wrangler'
import { D1CommandError, wrangler } from './d1'
import { type DeployConfig, type DeployedSecrets, preflight } from './deploy-preflight'

export interface DeployOptions {
  config: string
  check: boolean
  skipSecretCheck: boolean
}

const USAGE = 'Usage: npm run deploy [-- [--check] [--config wrangler.toml] [--skip-secret-check]]'

/** The options in `args`, or what is wrong with them. */
export function parseDeployArgs(args: readonly string[]): DeployOptions | { error: string } {
  const options: DeployOptions = { config: 'wrangler.toml', check: false, skipSecretCheck: false }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--check') options.check = true
    else if (arg === '--skip-secret-check') options.skipSecretCheck = true
    else if (arg === '--config' && args[i + 1]) options.config = args[++i] as string
    else if (arg.startsWith('--config=')) options.config = arg.slice('--config='.length)
    else return { error: `Unknown argument "${arg}".\n${USAGE}` }
  }
  return options
}

/** wrangler.toml's [vars] and D1 id, as wrangler itself reads the file. */
export function readDeployConfig(configPath: string): DeployConfig {
  const config = unstable_readConfig({ config: configPath }) as {
    vars?: Record<string, unknown>
    d1_databases?: { database_id?: string }[]
  }
  return { vars: config.vars ?? {}, databaseId: config.d1_databases?.[0]?.database_id }
}

/**
 * The deployed Worker's secret names. A Worker that does not exist yet has none (wrangler says
 * "not found"): that is reported as every secret missing, not as a failure to ask.
 */
export function listDeployedSecrets(configPath: string): DeployedSecrets {
  try {
    const out = wrangler(['secret', 'list', '--format', 'json', '--config', configPath], {
      quiet: true,
    })
    const json = out.slice(out.indexOf('['), out.lastIndexOf(']') + 1)
    const list = JSON.parse(json) as { name?: unknown }[]
    return { names: list.map((s) => String(s.name)) }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    if (err instanceof D1CommandError && /\b10007\b|not found|does not exist/i.test(reason)) {
      return { names: [] }
    }
    return { unavailable: reason || 'no answer' }
  }
}

export interface DeployIo {
  readConfig(path: string): DeployConfig
  listSecrets(path: string): DeployedSecrets
  /** Runs `npx wrangler …` with the terminal attached; its exit code. */
  run(args: string[]): number
  log(line: string): void
}

const io: DeployIo = {
  readConfig: readDeployConfig,
  listSecrets: listDeployedSecrets,
  run: (args) =>
    spawnSync('npx', ['wrangler', ...args], {
      stdio: 'inherit',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    }).status ?? 1,
  log: (line) => console.log(line),
}

/** The whole command: its exit code (0 deployed or checked, 1 refused or failed, 2 bad usage). */
export function deploy(args: readonly string[], deps: DeployIo = io): number {
  const options = parseDeployArgs(args)
  if ('error' in options) {
    deps.log(options.error)
    return 2
  }
  const verdict = preflight(deps.readConfig(options.config), deps.listSecrets(options.config), {
    skipSecretCheck: options.skipSecretCheck,
  })
  for (const warning of verdict.warnings) deps.log(`! ${warning}`)
  if (verdict.problems.length) {
    deps.log(`Refusing to deploy (${options.config}): the Worker would not run as production.\n`)
    verdict.problems.forEach((problem, i) => {
      deps.log(`${i + 1}. ${problem}`)
    })
    deps.log('\nSettings and secrets: docs/configuration.md; deploying: docs/operations.md.')
    return 1
  }
  deps.log(`Preflight passed (${options.config}): production, PUBLIC_BASE_URL and secrets set.`)
  if (options.check) return 0
  const migrated = deps.run([
    'd1',
    'migrations',
    'apply',
    'DB',
    '--remote',
    '--config',
    options.config,
  ])
  if (migrated !== 0) return migrated
  return deps.run(['deploy', '--config', options.config])
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(deploy(process.argv.slice(2)))
}
