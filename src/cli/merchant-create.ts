/**
 * `npm run merchant:create -- --name "Café Luna" [--domain cafeluna.example] [--remote]`
 * Creates a merchant and prints its first API key (shown once).
 */
import { parseArgs } from 'node:util'
import { createSignInToken } from '../admin/session'
import { createApiKey, createMerchant } from '../auth/queries'
import { openD1, targetFromArgs } from './d1'

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    domain: { type: 'string' },
    remote: { type: 'boolean', default: false },
    local: { type: 'boolean', default: false },
    'base-url': { type: 'string', default: 'http://localhost:8787' },
  },
})

if (!values.name?.trim()) {
  console.error(
    'Usage: npm run merchant:create -- --name "Café Luna" [--domain cafeluna.example] [--remote]',
  )
  process.exit(2)
}

const target = targetFromArgs(process.argv)
const d1 = openD1(target)
const merchantId = await createMerchant(d1.db, {
  name: values.name.trim(),
  displayDomain: values.domain,
})
const key = await createApiKey(d1.db, merchantId, 'merchant:create')
const token = await createSignInToken(d1.db, merchantId)
d1.commit()
const base = (values['base-url'] ?? '').replace(/\/+$/, '')
console.log(`Merchant ${merchantId} created in the ${target} database.`)
console.log(`API key (shown once, store it now): ${key.key}`)
console.log(`One-time admin sign-in link (24 h): ${base}/admin/login/link/${token}`)
