/**
 * Platform mode offline (no Stripe key, as in `npm run dev`): the simulated onboarding decides
 * whether the merchant's codes can be paid, and a ready merchant is paid through the test-mode
 * checkout, its payment keeping the simulated account. Every page says TEST MODE.
 */
import { describe, expect, it } from 'vitest'
import { AdminClient } from '../admin/client'
import { chooseOutcome, pay } from '../checkout/support'
import { call, createCode, newMerchant } from '../helpers'
import { paymentRow } from './connect-support'

const offline = { PAYMENT_MODE: 'platform' }

async function onboardedOffline(outcome: 'ready' | 'requirements_due' | 'rejected') {
  const merchant = await newMerchant()
  const admin = await AdminClient.signIn(merchant.key)
  admin.bindings = offline
  expect((await admin.post('/admin/settings/stripe/connect')).status).toBe(303)
  const chosen = await admin.post('/admin/settings/stripe/test-onboarding', { outcome })
  expect(chosen.status).toBe(303)
  const code = await createCode(merchant.key, {
    action: 'checkout',
    currency: 'eur',
    amount: 450,
    description: 'Flat white',
  })
  return { ...merchant, admin, code }
}

describe('platform mode offline', () => {
  it('pays a merchant whose simulated onboarding made it ready, through the test checkout', async () => {
    const { code } = await onboardedOffline('ready')
    const page = await call(`/${code.slug}`, { env: offline })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('TEST MODE')
    const pressed = await pay(code.slug, {}, offline)
    expect(pressed.status).toBe(303)
    const checkoutUrl = pressed.headers.get('location') ?? ''
    expect(checkoutUrl).toContain('/test-mode/checkout/')
    const payment = await paymentRow(code.id)
    expect(payment).toMatchObject({
      provider: 'test',
      stripe_account: expect.stringMatching(/^acct_test_/),
    })
    expect((await chooseOutcome(checkoutUrl, 'paid')).status).toBeLessThan(400)
    expect((await paymentRow(code.id))?.status).toBe('paid')
  })

  it.each(['requirements_due', 'rejected'] as const)(
    'shows the TEST MODE "can’t take payments" page for a merchant %s',
    async (outcome) => {
      const { code } = await onboardedOffline(outcome)
      const page = await call(`/${code.slug}`, { env: offline })
      expect(page.status).toBe(503)
      const html = (await page.text()).replaceAll('&#39;', "'")
      expect(html).toContain("This merchant can't take payments right now")
      expect(html).toContain('TEST MODE')
      const pressed = await pay(code.slug, {}, offline)
      expect(pressed.status).toBe(503)
      expect(await paymentRow(code.id)).toBeNull()
    },
  )
})
