/**
 * Platform mode's payments: a Checkout Session is a direct charge on the merchant's connected
 * account (the `Stripe-Account` header) with the platform's fee, the payment keeps that account,
 * and every later call about it goes there; a merchant that cannot take charges gets a page and
 * no Stripe call. Real SDK against the in-repo fake.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { fakeStripe, pay, stripeEnv, stripeRequests } from '../checkout/support'
import { call, createCode, merchantWithCode, newMerchant } from '../helpers'
import { connectedMerchant, paymentRow, platformEnv } from './connect-support'

const textOf = async (response: Response) => (await response.text()).replaceAll('&#39;', "'")

describe('paying a merchant’s connected account (platform mode)', () => {
  it('creates the session on the merchant’s account, with the fee, and keeps the account', async () => {
    const { account, admin, code, key } = await connectedMerchant('ready')
    const response = await pay(code.slug, {}, platformEnv())
    expect(response.status).toBe(303)
    const payment = await paymentRow(code.id)
    expect(payment).toMatchObject({
      status: 'pending',
      provider: 'stripe',
      stripe_account: account,
    })
    const [create] = (await stripeRequests()).filter((r) => r.idempotencyKey === payment?.id)
    expect(create?.path).toBe('/v1/checkout/sessions')
    expect(create?.stripeAccount).toBe(account)
    // 2.9 % of 450 is 13.05, rounded down, plus the fixed 30.
    expect(create?.params).toMatchObject({
      payment_intent_data: { application_fee_amount: '43' },
    })
    // The session exists on the connected account only.
    const seen = await fakeStripe(`objects/${payment?.session_id}`)
    expect(JSON.stringify(seen)).toContain(account)
    // The API and the admin's payment page say which account it was made on.
    const api = await call(`/api/v1/payments/${payment?.id}`, { key, env: platformEnv() })
    expect(await api.json()).toMatchObject({ stripe_account: account })
    const page = await (await admin.get(`/admin/payments/${payment?.id}`)).text()
    expect(page).toContain('Stripe account')
    expect(page).toContain(account)
  })

  it('sends no fee when none is configured', async () => {
    const { code } = await connectedMerchant('ready')
    await pay(code.slug, {}, platformEnv({ PLATFORM_FEE_BPS: '0', PLATFORM_FEE_FIXED: '' }))
    const payment = await paymentRow(code.id)
    const [create] = (await stripeRequests()).filter((r) => r.idempotencyKey === payment?.id)
    expect(create?.params.payment_intent_data).not.toHaveProperty('application_fee_amount')
  })

  it('asks the payment’s own account on return and cancel, even after the mode changed', async () => {
    const { account, code } = await connectedMerchant('ready')
    await pay(code.slug, {}, platformEnv())
    const payment = await paymentRow(code.id)
    const before = (await stripeRequests()).length
    await fakeStripe(`sessions/${payment?.session_id}/complete`, {})
    // The deployment went back to one business meanwhile: the payment still lives on `account`.
    const back = await call(`/${code.slug}/return/${payment?.id}`, { env: stripeEnv() })
    expect(back.status).toBe(200)
    expect(await textOf(back)).toMatch(/confirm/i)
    const cancel = await call(`/${code.slug}/cancel/${payment?.id}`, { env: platformEnv() })
    expect(cancel.status).toBeLessThan(500)
    const asked = (await stripeRequests())
      .slice(before)
      .filter((r) => r.path.startsWith(`/v1/checkout/sessions/${payment?.session_id}`))
    expect(asked.length).toBeGreaterThan(0)
    expect(asked.every((r) => r.stripeAccount === account)).toBe(true)
  })

  it.each([
    ['never connected', null, 'no_payment_account'],
    ['requirements due', 'requirements_due', 'account_not_ready'],
    ['rejected', 'rejected', 'account_not_ready'],
  ] as const)(
    'shows a page for a merchant %s, with no Stripe call and no payment',
    async (_name, state, reason) => {
      const { code, key } = state
        ? await connectedMerchant(state)
        : await (async () => {
            const m = await newMerchant()
            return {
              ...m,
              code: await createCode(m.key, {
                action: 'checkout',
                currency: 'eur',
                amount: 450,
                description: 'x',
              }),
            }
          })()
      const before = (await stripeRequests()).length
      const page = await call(`/${code.slug}`, { env: platformEnv() })
      expect(page.status).toBe(503)
      const html = await textOf(page)
      expect(html).toContain("This merchant can't take payments right now")
      expect(html).not.toContain('/pay"')
      const pressed = await pay(code.slug, {}, platformEnv())
      expect(pressed.status).toBe(503)
      expect(await textOf(pressed)).toContain("This merchant can't take payments right now")
      expect((await stripeRequests()).length).toBe(before)
      expect(await paymentRow(code.id)).toBeNull()

      const api = await call(`/api/v1/codes/${code.id}`, { key, env: platformEnv() })
      expect(await api.json()).toMatchObject({ payable: false, payable_reason: reason })
    },
  )

  it('becomes payable as soon as Stripe enables charges', async () => {
    const { admin, account, code, key } = await connectedMerchant('requirements_due')
    expect((await pay(code.slug, {}, platformEnv())).status).toBe(503)
    await fakeStripe(`accounts/${account}/state`, { state: 'ready' })
    await admin.get('/admin/settings/stripe/return')
    const api = await call(`/api/v1/codes/${code.id}`, { key, env: platformEnv() })
    expect(await api.json()).toMatchObject({ payable: true, payable_reason: null })
    expect((await pay(code.slug, {}, platformEnv())).status).toBe(303)
  })
})

describe('one-business mode is unchanged', () => {
  it('pays the deployment’s own account: no header, no fee, no account on the payment', async () => {
    const { code, key } = await merchantWithCode()
    // Fee settings are platform mode's: here they change nothing.
    const bindings = { ...stripeEnv(), PLATFORM_FEE_BPS: '290', PLATFORM_FEE_FIXED: 'eur:30' }
    expect((await pay(code.slug, {}, bindings)).status).toBe(303)
    const payment = await paymentRow(code.id)
    expect(payment?.stripe_account).toBeNull()
    const shown = await call(`/api/v1/payments/${payment?.id}`, { key, env: bindings })
    expect(await shown.json()).toMatchObject({ stripe_account: null })
    const [create] = (await stripeRequests()).filter((r) => r.idempotencyKey === payment?.id)
    expect(create?.stripeAccount).toBeNull()
    expect(create?.params.payment_intent_data).not.toHaveProperty('application_fee_amount')
    const api = await call(`/api/v1/codes/${code.id}`, { key, env: bindings })
    expect(await api.json()).toMatchObject({ payable: true, payable_reason: null })
    const redirect = await createCode(key, {
      action: 'redirect',
      destination_url: 'https://example.com/',
    })
    expect(redirect).toMatchObject({ payable: null, payable_reason: null })
  })

  it('takes no payment when PAYMENT_MODE cannot be read, with no Stripe call', async () => {
    const { code } = await merchantWithCode()
    const before = (await stripeRequests()).length
    const pressed = await pay(code.slug, {}, { ...stripeEnv(), PAYMENT_MODE: 'platfrom' })
    expect(pressed.status).toBe(503)
    expect((await stripeRequests()).length).toBe(before)
    const rows = await env.DB.prepare('select count(*) as n from payments where code_id = ?')
      .bind(code.id)
      .first<{ n: number }>()
    expect(rows?.n).toBe(0)
  })
})
