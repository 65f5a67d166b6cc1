/** Platform mode in tests: a merchant onboarded through the admin, against the fake Stripe. */
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import { AdminClient } from '../admin/client'
import { fakeStripe, stripeEnv } from '../checkout/support'
import { createCode, newMerchant } from '../helpers'

export const CONNECT_WEBHOOK_SECRET = 'whsec_connect_test_secret'

/** Platform mode on the fake Stripe, with a 2.9 % + €0.30 fee unless `vars` says otherwise. */
export function platformEnv(vars: Record<string, string> = {}) {
  return {
    ...stripeEnv(),
    PAYMENT_MODE: 'platform',
    PLATFORM_FEE_BPS: '290',
    PLATFORM_FEE_FIXED: 'eur:30',
    STRIPE_CONNECT_WEBHOOK_SECRET: CONNECT_WEBHOOK_SECRET,
    ...vars,
  }
}

export type AccountState = 'ready' | 'requirements_due' | 'rejected' | 'onboarding'

/**
 * A merchant with a €4.50 checkout code (or `code`), connected through Settings' "Connect with
 * Stripe"; with `state`, Stripe then reports that state and the merchant comes back from
 * onboarding (the return page stores it).
 */
export async function connectedMerchant(
  state: AccountState | null = 'ready',
  code: Record<string, unknown> = {},
) {
  const merchant = await newMerchant()
  const admin = await AdminClient.signIn(merchant.key)
  admin.bindings = platformEnv()
  expect((await admin.post('/admin/settings/stripe/connect')).status).toBe(303)
  const row = await env.DB.prepare('select stripe_account_id from merchants where id = ?')
    .bind(merchant.merchantId)
    .first<{ stripe_account_id: string }>()
  const account = row?.stripe_account_id ?? ''
  expect(account).toMatch(/^acct_/)
  if (state) {
    await fakeStripe(`accounts/${account}/state`, { state })
    expect((await admin.get('/admin/settings/stripe/return')).status).toBe(200)
  }
  const created = await createCode(merchant.key, {
    action: 'checkout',
    currency: 'eur',
    amount: 450,
    description: 'Flat white',
    ...code,
  })
  return { ...merchant, admin, account, code: created }
}

export async function paymentRow(codeId: string) {
  return env.DB.prepare('select * from payments where code_id = ? order by created_at desc')
    .bind(codeId)
    .first<
      Record<string, unknown> & {
        id: string
        session_id: string
        status: string
        stripe_account: string | null
      }
    >()
}
