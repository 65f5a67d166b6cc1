/**
 * `npm run dev`: the whole product locally. Applies migrations to the local D1, seeds a demo
 * merchant with an API key and two codes on first run, starts `wrangler dev`, and prints the key
 * and URLs once the Worker answers.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createApiKey, createMerchant } from '../src/auth/queries'
import { CreateCode } from '../src/codes/schemas'
import { createCodeFor } from '../src/codes/service'
import { openD1, wrangler } from './d1'
import { devPort, writeDevOrigin } from './local-origin'

const chosen = devPort(process.argv.slice(2), process.env)
if ('error' in chosen) {
  console.error(chosen.error)
  process.exit(2)
}
const PORT = chosen.port
const BASE = `http://localhost:${PORT}`
const DEMO_FILE = '.wrangler/demo.json'

interface Demo {
  merchantId: string
  apiKey: string
  redirectSlug: string
  checkoutSlug: string
}

/** Local secrets, each a fresh random value; added to an existing `.dev.vars` when missing. */
const DEV_SECRETS = ['VISITOR_HASH_SECRET', 'SESSION_SECRET', 'LIVE_TOKEN_SECRET']

function ensureDevVars() {
  const current = existsSync('.dev.vars')
    ? readFileSync('.dev.vars', 'utf8')
    : '# Local secrets for wrangler dev (not committed).\n'
  // As wrangler's dotenv reads the file: "NAME=v", "NAME = v", "export NAME=v".
  const missing = DEV_SECRETS.filter(
    (name) => !new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=`, 'm').test(current),
  )
  if (!missing.length) return
  const lines = missing.map((name) => {
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
    return `${name}=${secret}\n`
  })
  const separator = current.endsWith('\n') ? '' : '\n'
  writeFileSync('.dev.vars', current + separator + lines.join(''))
  console.log(`Wrote ${missing.join(' and ')} to .dev.vars.`)
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
const dev = spawn('npx', ['wrangler', 'dev', '--port', String(PORT), ...chosen.rest], {
  stdio: 'inherit',
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
})
dev.on('exit', (code) => process.exit(code ?? 0))
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => dev.kill(signal))
if (await waitUntilUp()) {
  writeDevOrigin(BASE)
  banner(demo)
}
