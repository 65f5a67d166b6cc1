/**
 * `npm run dev`: the whole product locally. Writes what `.dev.vars` lacks (the local secrets, and
 * `ENVIRONMENT=development`: wrangler.toml ships "production"), applies migrations to the local
 * D1, seeds a demo merchant with an API key and two codes on first run, starts `wrangler dev`, and
 * prints the key and URLs once the Worker answers.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createApiKey, createMerchant } from '../src/auth/queries'
import { CreateCode } from '../src/codes/schemas'
import { createCodeFor } from '../src/codes/service'
import { openD1, wrangler } from './d1'
import { withDevVars } from './dev-vars'
import { devPort, writeDevOrigin } from './local-origin'

const chosen = devPort(process.argv.slice(2), process.env)
if ('error' in chosen) {
  console.error(chosen.error)
  process.exit(2)
}
const PORT = chosen.port
const BASE = `http://localhost:${PORT}`
/**
 * wrangler's own output at `info`: its warnings, "Ready on", a line per request, and what the
 * Worker writes with console.info, warn and error. Not the table of the ~60 modules it attaches
 * from dist/, which it prints at `log` level on every start and rebuild — the level of the
 * Worker's console.log too, so those show with `npm run dev -- --log-level log`.
 */
const OWN_LOG_LEVEL = chosen.rest.some((a) => a === '--log-level' || a.startsWith('--log-level='))
const LOG_LEVEL = OWN_LOG_LEVEL ? [] : ['--log-level', 'info']
const DEMO_FILE = '.wrangler/demo.json'

interface Demo {
  merchantId: string
  apiKey: string
  redirectSlug: string
  checkoutSlug: string
}

function ensureDevVars() {
  const { text, written } = withDevVars(
    existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : undefined,
  )
  if (!written.length) return
  writeFileSync('.dev.vars', text)
  console.log(`Wrote ${written.join(', ')} to .dev.vars.`)
}

async function seed(): Promise<Demo> {
  const d1 = openD1('local')
  if (existsSync(DEMO_FILE) && d1.count('merchants') > 0) {
    return JSON.parse(readFileSync(DEMO_FILE, 'utf8')) as Demo
  }
  const merchantId = await createMerchant(d1.db, {
    name: 'Café Luna (demo)',
    displayDomain: 'cafeluna.example',
    // A made-up domain no DNS record can prove: the demo shows it as a verified one would be.
    domainVerified: true,
  })
  const key = await createApiKey(d1.db, merchantId, 'demo')
  // The same service the API and the admin use, so a seeded code obeys every rule a real one does.
  const redirect = await createCodeFor(
    d1.db,
    merchantId,
    CreateCode.parse({
      action: 'redirect',
      destination_url: 'https://example.com/menu',
      metadata: { seeded: 'true' },
    }),
  )
  const checkout = await createCodeFor(
    d1.db,
    merchantId,
    CreateCode.parse({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
      metadata: { seeded: 'true' },
    }),
  )
  const redirectSlug = redirect.slug
  const checkoutSlug = checkout.slug
  d1.commit()
  const demo: Demo = { merchantId, apiKey: key.key, redirectSlug, checkoutSlug }
  mkdirSync('.wrangler', { recursive: true })
  writeFileSync(DEMO_FILE, JSON.stringify(demo, null, 2))
  console.log('Seeded the demo merchant and two codes.')
  return demo
}

function banner(demo: Demo) {
  const lines = [
    '',
    '  qrcheckout is running locally',
    '',
    `  API key (demo merchant): ${demo.apiKey}`,
    `  Redirect code:           ${BASE}/${demo.redirectSlug}`,
    `  Checkout code:           ${BASE}/${demo.checkoutSlug}`,
    `  QR image:                ${BASE}/qr/${demo.redirectSlug}.svg`,
    `  API reference:           ${BASE}/docs`,
    `  Admin:                   ${BASE}/admin  (sign in with the API key above)`,
    '',
    '  Try:',
    `    curl -H "Authorization: Bearer ${demo.apiKey}" ${BASE}/api/v1/codes`,
    `    curl -i ${BASE}/${demo.redirectSlug}`,
    '',
    ...(OWN_LOG_LEVEL
      ? []
      : [
          "  Logs: each request, and the Worker's console.info, warn and error. For its console.log",
          "  and wrangler's full output: npm run dev -- --log-level log",
          '',
        ]),
  ]
  console.log(lines.join('\n'))
}

async function waitUntilUp(): Promise<boolean> {
  for (let i = 0; i < 120; i++) {
    try {
      const response = await fetch(`${BASE}/health`)
      if (response.ok) return true
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  return false
}

ensureDevVars()
console.log('Applying migrations to the local D1…')
wrangler(['d1', 'migrations', 'apply', 'DB', '--local'], { quiet: true })
const demo = await seed()
const dev = spawn(
  'npx',
  ['wrangler', 'dev', '--port', String(PORT), ...LOG_LEVEL, ...chosen.rest],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      // request.cf: miniflare's fixed placeholder rather than a fetch of workers.cloudflare.com at
      // every start, which offline fails with two stack traces (and a fixed value is what tests see).
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
    },
  },
)
dev.on('exit', (code) => process.exit(code ?? 0))
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => dev.kill(signal))
if (await waitUntilUp()) {
  writeDevOrigin(BASE)
  banner(demo)
}
