/**
 * What `npm run deploy` checks before it touches anything remote: that the Worker would run as
 * production, with an https public origin and every secret production needs. Decisions only, no
 * I/O (scripts/deploy.ts reads wrangler.toml and asks wrangler for the secrets), so a test can
 * hold each refusal and its wording without an account or a network.
 */

/** The placeholder wrangler.toml ships until `wrangler d1 create` prints the real id. */
export const PLACEHOLDER_DATABASE_ID = '00000000-0000-4000-8000-000000000000'

const RANDOM = 'openssl rand -hex 32 | npx wrangler secret put'

/** The secrets production needs (src/env.ts), each with how to set it. */
export const REQUIRED_SECRETS: Record<string, string> = {
  STRIPE_SECRET_KEY:
    'npx wrangler secret put STRIPE_SECRET_KEY   (sk_live_…, or sk_test_… for a staging Worker: Stripe Dashboard → Developers → API keys)',
  STRIPE_WEBHOOK_SECRET:
    'npx wrangler secret put STRIPE_WEBHOOK_SECRET   (the whsec_… Stripe shows for the endpoint {PUBLIC_BASE_URL}/webhooks/stripe)',
  SESSION_SECRET: `${RANDOM} SESSION_SECRET   (signs admin sessions: nobody can sign in without it)`,
  VISITOR_HASH_SECRET: `${RANDOM} VISITOR_HASH_SECRET   (without it scans have no unique visitors)`,
  LIVE_TOKEN_SECRET: `${RANDOM} LIVE_TOKEN_SECRET   (without it the admin gets no live updates)`,
}

/** Platform mode (`PAYMENT_MODE = "platform"`) also needs the Connect endpoint's secret. */
export const PLATFORM_SECRETS: Record<string, string> = {
  STRIPE_CONNECT_WEBHOOK_SECRET:
    'npx wrangler secret put STRIPE_CONNECT_WEBHOOK_SECRET   (the whsec_… of the "Events on connected accounts" endpoint {PUBLIC_BASE_URL}/webhooks/stripe/connect)',
}

/** Only for pointing the Stripe SDK at a fake in tests: in production they would divert payments. */
export const TEST_ONLY = ['STRIPE_API_HOST', 'STRIPE_API_PORT', 'STRIPE_API_PROTOCOL']

/** What deploy reads from wrangler.toml. */
export interface DeployConfig {
  vars: Record<string, unknown>
  databaseId: string | undefined
}

/** The names of the deployed Worker's secrets, or why wrangler could not list them. */
export type DeployedSecrets = { names: string[] } | { unavailable: string }

export interface Verdict {
  /** Each a reason not to deploy, saying what to set. Empty: deploy. */
  problems: string[]
  warnings: string[]
}

/** Whether `value` is an https origin and nothing more (a trailing `/` allowed). */
export function isHttpsOrigin(value: string): boolean {
  const url = URL.parse(value)
  return (
    url !== null &&
    url.protocol === 'https:' &&
    url.origin !== 'null' &&
    (value === url.origin || value === `${url.origin}/`)
  )
}

export function preflight(
  config: DeployConfig,
  secrets: DeployedSecrets,
  options: { skipSecretCheck?: boolean } = {},
): Verdict {
  const problems: string[] = []
  const warnings: string[] = []
  const { vars } = config

  const environment = String(vars.ENVIRONMENT ?? '')
  if (environment !== 'production') {
    problems.push(
      `ENVIRONMENT is ${environment ? `"${environment}"` : 'not set'} in wrangler.toml [vars]: set ` +
        'ENVIRONMENT = "production". Anything else serves the test-mode payment provider, whose ' +
        'pay button marks payments paid without charging anyone.',
    )
  }

  const base = String(vars.PUBLIC_BASE_URL ?? '').trim()
  if (!base) {
    problems.push(
      'PUBLIC_BASE_URL is empty in wrangler.toml [vars]: set it to the https origin printed QR ' +
        'codes will hold, e.g. PUBLIC_BASE_URL = "https://qr.example.com". Without it the Worker ' +
        'refuses (503) every answer that needs a link rather than build one from the Host header.',
    )
  } else if (!isHttpsOrigin(base)) {
    problems.push(
      `PUBLIC_BASE_URL "${base}" in wrangler.toml [vars] is not an https origin: set scheme and ` +
        'host only, e.g. PUBLIC_BASE_URL = "https://qr.example.com" (no path, query or port typo).',
    )
  }

  const mode = String(vars.PAYMENT_MODE ?? '').trim()
  if (mode !== '' && mode !== 'one_business' && mode !== 'platform') {
    problems.push(
      `PAYMENT_MODE is "${mode}" in wrangler.toml [vars]: set "one_business" (or leave it out) or ` +
        '"platform". Any other value leaves every checkout code unpayable.',
    )
  }
  const required =
    mode === 'platform' ? { ...REQUIRED_SECRETS, ...PLATFORM_SECRETS } : REQUIRED_SECRETS

  if (!config.databaseId || config.databaseId === PLACEHOLDER_DATABASE_ID) {
    problems.push(
      'database_id in wrangler.toml [[d1_databases]] is the placeholder: run ' +
        '`npx wrangler d1 create qrcheckout` and paste the id it prints.',
    )
  }

  for (const [name, how] of Object.entries(required)) {
    if (name in vars) {
      problems.push(
        `${name} is in wrangler.toml [vars], which is committed and shown in the dashboard: ` +
          `delete it there and set it as a secret: ${how}`,
      )
    }
  }

  const deployed = 'names' in secrets ? new Set(secrets.names) : undefined
  for (const name of TEST_ONLY) {
    if (name in vars || deployed?.has(name)) {
      problems.push(
        `${name} is set (${name in vars ? 'wrangler.toml [vars]' : 'a secret'}): it points the ` +
          `Stripe SDK away from Stripe, for tests only. Remove it${
            name in vars ? ' from [vars]' : `: npx wrangler secret delete ${name}`
          }.`,
      )
    }
  }

  if (deployed) {
    for (const [name, how] of Object.entries(required)) {
      if (!deployed.has(name) && !(name in vars)) problems.push(`${name} is not set: ${how}`)
    }
  } else if ('unavailable' in secrets) {
    if (options.skipSecretCheck) {
      warnings.push(
        `The Worker's secrets were NOT checked (--skip-secret-check; wrangler could not list them: ` +
          `${secrets.unavailable}). Check them yourself: npx wrangler secret list`,
      )
    } else {
      problems.push(
        `wrangler could not list the Worker's secrets (${secrets.unavailable}). Sign in with ` +
          '`npx wrangler login` or set CLOUDFLARE_API_TOKEN, then run again. Only if wrangler ' +
          'cannot be asked from here: npm run deploy -- --skip-secret-check',
      )
    }
  }
  return { problems, warnings }
}
