/**
 * `npm run merchant:create -- --name "Café Luna" [--domain cafeluna.example]
 *   [--remote --base-url https://qr.example.com]`
 * Creates a merchant and prints its first API key (shown once) and a one-time admin sign-in link.
 * Bad arguments or a failed database write end with a message and exit code 2 or 1, never a trace.
 */
import { parseArgs } from 'node:util'
import { readMerchantName } from '../src/auth/merchant-name'
import { createApiKey, createMerchant } from '../src/auth/queries'
import { createSignInToken } from '../src/auth/sessions'
import { normalizeDomain } from '../src/lib/domain'
import { D1CommandError, openD1 } from './d1'
import { localOrigin } from './local-origin'

/** Where `npm run dev` serves (or last served): the default origin of the sign-in link. */
const LOCAL_ORIGIN = localOrigin()

const USAGE = `Usage: npm run merchant:create -- --name "Café Luna" [--domain cafeluna.example]
         [--remote --base-url https://qr.example.com]
Default: the local database, and links to ${LOCAL_ORIGIN} (where npm run dev serves).`

function fail(message: string, code = 2): never {
  console.error(`${message}\n${USAGE}`)
  process.exit(code)
}

let values: {
  name?: string
  domain?: string
  remote?: boolean
  local?: boolean
  'base-url'?: string
  help?: boolean
}
try {
  values = parseArgs({
    options: {
      name: { type: 'string' },
      domain: { type: 'string' },
      remote: { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      'base-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values
} catch (err) {
  fail((err as Error).message)
}

if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
if (!values.name?.trim()) fail('--name is required.')
const domain = values.domain?.trim() ? normalizeDomain(values.domain) : null
if (values.domain?.trim() && !domain) {
  fail(`--domain must be a bare host name such as cafeluna.example, not "${values.domain}".`)
}
// The same rules as the admin's settings page, so the merchant can save that page later. A new
// domain is not verified yet, so the name may not be a domain (docs/trust.md).
const read = readMerchantName(values.name ?? '', null)
if (!('name' in read)) fail(`--name: ${read.message}`)
const name = read.name
if (values.remote && values.local) fail('Give --remote or --local, not both.')
const target = values.remote ? 'remote' : 'local'
// A sign-in link to localhost is no use for a merchant of the deployed Worker.
if (target === 'remote' && !values['base-url']) {
  fail('With --remote, give --base-url: the public origin of the deployed Worker.')
}
// An origin: http(s), a host, no path (new URL reads "localhost:8787" as a scheme, origin "null").
const base = URL.parse(values['base-url'] ?? LOCAL_ORIGIN)
if (
  !base ||
  !['http:', 'https:'].includes(base.protocol) ||
  base.origin === 'null' ||
  base.pathname !== '/'
) {
  fail(`--base-url must be an origin such as https://qr.example.com, not "${values['base-url']}".`)
}

try {
  const d1 = openD1(target)
  const merchantId = await createMerchant(d1.db, { name, displayDomain: domain ?? undefined })
  const key = await createApiKey(d1.db, merchantId, 'merchant:create')
  const token = await createSignInToken(d1.db, merchantId)
  d1.commit()
  console.log(`Merchant ${merchantId} created in the ${target} database.`)
  console.log(`API key (shown once, store it now): ${key.key}`)
  console.log(`One-time admin sign-in link (24 h): ${base.origin}/admin/login/link/${token}`)
} catch (err) {
  if (!(err instanceof D1CommandError)) throw err
  const hint =
    target === 'local'
      ? ' Run `npm run dev` (or `npm run db:migrate:local`) once first, so the local database exists.'
      : ' Check `npx wrangler login` and the database_id in wrangler.toml, and apply the migrations (`npm run db:migrate:remote`).'
  console.error(`The ${target} database refused the write: ${err.message}.${hint}`)
  process.exit(1)
}
