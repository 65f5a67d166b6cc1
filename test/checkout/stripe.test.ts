import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import { call, merchantWithCode, ORIGIN } from '../helpers'
import { logLine } from '../logs'
import { fakeStripe, pay, sessionEvent, signedWebhook, stripeEnv, stripeRequests } from './support'

async function paymentOf(codeId: string) {
  return (await env.DB.prepare('select * from payments where code_id = ?')
    .bind(codeId)
    .first()) as Record<string, unknown> & { id: string; session_id: string; status: string }
}

async function eventCount() {
  return (
    (await env.DB.prepare('select count(*) as n from payment_events').first<{ n: number }>())?.n ??
    0
  )
}

/** A checkout code paid up to Stripe's hosted page: returns the payment and its session. */
async function startPayment(
  body: Record<string, unknown> = {},
  fields: Record<string, string> = {},
) {
  const { key, code } = await merchantWithCode({
    action: 'checkout',
    currency: 'eur',
    amount: 450,
    description: 'Flat white',
    ...body,
  })
  const response = await pay(code.slug, fields, stripeEnv())
  expect(response.status).toBe(303)
  const payment = await paymentOf(code.id)
  const session = await fakeStripe(`sessions/${payment.session_id}/get`, {})
  return { code, key, response, payment, session }
}

describe('paying through Stripe Checkout (real SDK against the in-repo fake)', () => {
  it('creates one session for exactly the amount, keyed by the payment id, and redirects to it', async () => {
    const { code, response, payment } = await startPayment()
    expect(response.headers.get('location')).toBe(
      `https://checkout.stripe.com/c/pay/${payment.session_id}`,
    )
    const creates = (await stripeRequests()).filter((r) => r.idempotencyKey === payment.id)
    expect(creates).toHaveLength(1)
    const [request] = creates
    expect(request?.path).toBe('/v1/checkout/sessions')
    expect(request?.params).toMatchObject({
      mode: 'payment',
      client_reference_id: payment.id,
      success_url: `${ORIGIN}/${code.slug}/return/${payment.id}`,
      cancel_url: `${ORIGIN}/${code.slug}/cancel/${payment.id}`,
      line_items: [
        {
          quantity: '1',
          price_data: { currency: 'eur', unit_amount: '450', product_data: { name: 'Flat white' } },
        },
      ],
      metadata: { payment_id: payment.id, code_id: code.id },
    })
    const expiresIn = Number(request?.params.expires_at) - Date.now() / 1000
    expect(expiresIn).toBeGreaterThan(30 * 60)
    expect(expiresIn).toBeLessThan(24 * 3600)
    expect(payment).toMatchObject({ status: 'pending', provider: 'stripe', amount: 450 })
  })

  it('cuts a long description for Stripe without splitting an emoji (a lone half broke the request)', async () => {
    const description = `${'x'.repeat(249)}😀 and more`
    const { payment } = await startPayment({ description })
    const [request] = (await stripeRequests()).filter((r) => r.idempotencyKey === payment.id)
    expect(request?.params).toMatchObject({
      line_items: [{ price_data: { product_data: { name: 'x'.repeat(249) } } }],
      payment_intent_data: { description: `Café Luna: ${description}` },
    })
  })

  it.each([
    ['two-decimal USD', 'usd', { amount: 1999 }, {}, '1999'],
    ['zero-decimal JPY, not multiplied by 100', 'jpy', { amount: 500 }, {}, '500'],
    ['three-decimal KWD', 'kwd', { amount: 1250 }, {}, '1250'],
    [
      'an open JPY amount typed by the customer',
      'jpy',
      { amount: undefined, amount_min: 100, amount_max: 10000 },
      { amount: '1200' },
      '1200',
    ],
    [
      'an open KWD amount typed with decimals',
      'kwd',
      { amount: undefined, amount_min: 200, amount_max: 90000 },
      { amount: '12.34' },
      '12340',
    ],
    [
      // The page shows "KWD 1,500.000" in English: "1,500" is fifteen hundred, never 1.5.
      'an open KWD amount typed with a thousands separator',
      'kwd',
      { amount: undefined, amount_min: 1000, amount_max: 5_000_000 },
      { amount: '1,500' },
      '1500000',
    ],
    [
      // The form carries the locale the page was shown in: German "1.500" is fifteen hundred.
      'an open KWD amount typed as the German page showed amounts',
      'kwd',
      { amount: undefined, amount_min: 1000, amount_max: 5_000_000 },
      { amount: '1.500', locale: 'de' },
      '1500000',
    ],
  ])('sends %s in minor units', async (_name, currency, amounts, fields, sent) => {
    const { payment } = await startPayment({ currency, ...amounts }, fields)
    const [request] = (await stripeRequests()).filter((r) => r.idempotencyKey === payment.id)
    const items = request?.params.line_items as Record<string, Record<string, string>>[] | undefined
    const item = items?.[0]
    expect(item?.price_data?.unit_amount).toBe(sent)
    expect(item?.price_data?.currency).toBe(currency)
  })

  it('refuses a KWD amount the page locale could read as 1.5 or as 1500, charging nothing', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'kwd',
      amount_min: 1000,
      amount_max: 5_000_000,
    })
    const before = (await stripeRequests()).length
    // English for Germany writes money "KWD 1.500" but numbers "1.500,000".
    const response = await pay(code.slug, { amount: '1.500', locale: 'en-DE' }, stripeEnv())
    expect(response.status).toBe(422)
    expect(await response.text()).toContain('without a thousands separator')
    expect((await stripeRequests()).length).toBe(before)
  })

  it('shows a clear page and fails the payment when Stripe is down, charging nothing', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    // An outage: 5xx on the first try and on both of the SDK's retries (maxNetworkRetries: 2).
    const before = (await stripeRequests()).length
    await fakeStripe('fail-next', { status: 500, type: 'api_error', times: 3 })
    const response = await pay(code.slug, {}, stripeEnv())
    expect(response.status).toBe(502)
    expect(await response.text()).toContain('Nothing was charged')
    expect((await paymentOf(code.id)).status).toBe('failed')
    expect((await stripeRequests()).length - before).toBe(3)
  })

  it('rides out one failed try: the SDK retries a 5xx, and the customer goes on to pay', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    await fakeStripe('fail-next', { status: 503, type: 'api_error' })
    const response = await pay(code.slug, {}, stripeEnv())
    expect(response.status).toBe(303)
    expect((await paymentOf(code.id)).status).toBe('pending')
  })

  it('marks the payment paid only from the signed webhook, with the card for the receipt', async () => {
    const { payment, session } = await startPayment()
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'paid',
    })
    // The return page asks Stripe, sees it paid, but does not mark anything paid itself.
    const page = await call(
      `/${(await env.DB.prepare('select slug from codes where id = ?').bind(payment.code_id).first<{ slug: string }>())?.slug}/return/${payment.id}`,
      { env: stripeEnv() },
    )
    expect(await page.text()).toContain('Confirming your payment')
    expect((await paymentOf(String(payment.code_id))).status).toBe('pending')

    const response = await signedWebhook(
      sessionEvent('checkout.session.completed', { ...session, ...completed }),
    )
    expect(response.status).toBe(200)
    const paid = await paymentOf(String(payment.code_id))
    expect(paid).toMatchObject({
      status: 'paid',
      customer_email: 'customer@example.com',
      method_brand: 'visa',
      method_last4: '4242',
    })
    expect(paid.paid_at).toEqual(expect.any(Number))
  })

  it('fetches the card for the receipt on a repeated delivery when the first fetch failed', async () => {
    const { payment, session } = await startPayment()
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'paid',
    })
    const event = sessionEvent('checkout.session.completed', { ...session, ...completed })
    await fakeStripe('fail-next', { status: 400, type: 'invalid_request_error' })
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      expect((await signedWebhook(event)).status).toBe(200)
      expect(logLine(errors, 'card details not saved for the receipt')).toMatchObject({
        paymentId: payment.id,
        error: { stack: expect.any(String) },
      })
    } finally {
      errors.mockRestore()
    }
    expect(await paymentOf(String(payment.code_id))).toMatchObject({
      status: 'paid',
      method_last4: null,
    })
    // Stripe delivers the event again (it does, until answered in time): the card is filled in.
    expect((await signedWebhook(event)).status).toBe(200)
    expect(await paymentOf(String(payment.code_id))).toMatchObject({
      status: 'paid',
      method_brand: 'visa',
      method_last4: '4242',
    })
  })

  it('backs off asking Stripe from the return page, and stops after a few checks', async () => {
    const { code, payment } = await startPayment()
    await fakeStripe(`sessions/${payment.session_id}/complete`, { payment_status: 'paid' })
    const retrievals = async () =>
      (await stripeRequests()).filter(
        (r) => r.method === 'GET' && r.path.endsWith(String(payment.session_id)),
      ).length
    const first = await (
      await call(`/${code.slug}/return/${payment.id}`, { env: stripeEnv() })
    ).text()
    expect(first).toContain(`content="2;url=/${code.slug}/return/${payment.id}?checks=1"`)
    const third = await (
      await call(`/${code.slug}/return/${payment.id}?checks=2`, { env: stripeEnv() })
    ).text()
    expect(third).toContain(`content="8;url=/${code.slug}/return/${payment.id}?checks=3"`)
    const before = await retrievals()
    const late = await (
      await call(`/${code.slug}/return/${payment.id}?checks=6`, { env: stripeEnv() })
    ).text()
    expect(late).toContain('taking longer than usual')
    expect(await retrievals()).toBe(before)
    const forged = await call(`/${code.slug}/return/${payment.id}?checks=-5`, { env: stripeEnv() })
    expect(forged.status).toBe(200)
  })

  it('applies a duplicate delivery once, and concurrent duplicates once', async () => {
    const { payment, session } = await startPayment()
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'paid',
    })
    const event = sessionEvent('checkout.session.completed', { ...session, ...completed })
    const before = await eventCount()
    const responses = await Promise.all([
      signedWebhook(event),
      signedWebhook(event),
      signedWebhook(event),
    ])
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200])
    await signedWebhook(event)
    expect(await eventCount()).toBe(before + 1)
    const row = await paymentOf(String(payment.code_id))
    expect(row.status).toBe('paid')
    const paidAt = row.paid_at
    await signedWebhook(event)
    expect((await paymentOf(String(payment.code_id))).paid_at).toBe(paidAt)
  })

  it('handles delayed methods in any order: processing, then succeeded; late events never go back', async () => {
    const { payment, session } = await startPayment()
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'unpaid',
    })
    const state = { ...session, ...completed }
    // Out of order: the success arrives before the "completed, unpaid" event.
    await signedWebhook(
      sessionEvent('checkout.session.async_payment_succeeded', {
        ...state,
        payment_status: 'paid',
      }),
    )
    expect((await paymentOf(String(payment.code_id))).status).toBe('paid')
    await signedWebhook(sessionEvent('checkout.session.completed', state))
    expect((await paymentOf(String(payment.code_id))).status).toBe('paid')
    await signedWebhook(sessionEvent('checkout.session.async_payment_failed', state))
    expect((await paymentOf(String(payment.code_id))).status).toBe('paid')
  })

  it('moves processing to failed when a delayed payment fails', async () => {
    const { payment, session } = await startPayment()
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'unpaid',
    })
    await signedWebhook(sessionEvent('checkout.session.completed', { ...session, ...completed }))
    expect((await paymentOf(String(payment.code_id))).status).toBe('processing')
    await signedWebhook(
      sessionEvent('checkout.session.async_payment_failed', { ...session, ...completed }),
    )
    expect((await paymentOf(String(payment.code_id))).status).toBe('failed')
  })

  it('expires a pending payment when its session expires', async () => {
    const { payment, session } = await startPayment()
    await signedWebhook(sessionEvent('checkout.session.expired', { ...session, status: 'expired' }))
    expect((await paymentOf(String(payment.code_id))).status).toBe('expired')
  })

  it('ignores a paid event whose amount does not match the payment', async () => {
    const { payment, session } = await startPayment()
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'paid',
    })
    const wrong = await signedWebhook(
      sessionEvent('checkout.session.completed', { ...session, ...completed, amount_total: 1 }),
    )
    expect(wrong.status).toBe(200)
    expect((await paymentOf(String(payment.code_id))).status).toBe('pending')
    // Nor one that says nothing of what was charged.
    const silent = await signedWebhook(
      sessionEvent('checkout.session.completed', {
        ...session,
        ...completed,
        amount_total: null,
        currency: null,
      }),
    )
    expect(silent.status).toBe(200)
    expect((await paymentOf(String(payment.code_id))).status).toBe('pending')
    // The right one still applies.
    await signedWebhook(sessionEvent('checkout.session.completed', { ...session, ...completed }))
    expect((await paymentOf(String(payment.code_id))).status).toBe('paid')
  })

  it('ignores a paid event with the right amount in another currency (450 JPY for €4.50)', async () => {
    const { code, payment, session } = await startPayment()
    expect(payment).toMatchObject({ amount: 450, currency: 'eur' })
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'paid',
    })
    const hub = hubFor(env, code.id)
    const countersBefore = await hub.counters()
    const eventsBefore = await eventCount()
    const yen = await signedWebhook(
      sessionEvent('checkout.session.completed', {
        ...session,
        ...completed,
        amount_total: 450,
        currency: 'jpy',
      }),
    )
    // Answered, so Stripe stops redelivering it, but applied to nothing.
    expect(yen.status).toBe(200)
    expect(await yen.json()).toEqual({ received: true, handled: false })
    expect(await paymentOf(code.id)).toMatchObject({ status: 'pending', paid_at: null })
    expect(await hub.counters()).toEqual(countersBefore)
    expect(await eventCount()).toBe(eventsBefore)
    // The payment is untouched, not spoiled: the event for what was charged still applies.
    await signedWebhook(sessionEvent('checkout.session.completed', { ...session, ...completed }))
    expect((await paymentOf(code.id)).status).toBe('paid')
    expect((await hub.counters()).paid).toBe(countersBefore.paid + 1)
  })

  it('answers unknown event types and foreign sessions with 200 and changes nothing', async () => {
    const before = await eventCount()
    const other = await signedWebhook(
      sessionEvent('customer.created', { id: 'cus_1', object: 'customer' }),
    )
    expect(other.status).toBe(200)
    expect(await other.json()).toEqual({ received: true, handled: false })
    const foreign = await signedWebhook(
      sessionEvent('checkout.session.completed', {
        id: 'cs_test_x',
        object: 'checkout.session',
        client_reference_id: null,
        metadata: {},
        status: 'complete',
        payment_status: 'paid',
      }),
    )
    expect(foreign.status).toBe(200)
    expect(await eventCount()).toBe(before)
  })

  describe('refuses unverified webhooks with 400 and changes nothing', () => {
    it.each([
      ['a wrong secret', { secret: 'whsec_wrong' }],
      ['a stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 301 }],
      ['a tampered body', { tamper: true }],
    ])('%s', async (_name, options) => {
      const { payment, session } = await startPayment()
      const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
        payment_status: 'paid',
      })
      const response = await signedWebhook(
        sessionEvent('checkout.session.completed', { ...session, ...completed }),
        options,
      )
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(((await response.json()) as { code: string }).code).toBe('invalid_signature')
      expect((await paymentOf(String(payment.code_id))).status).toBe('pending')
    })

    it('a missing signature header', async () => {
      const response = await call('/webhooks/stripe', {
        method: 'POST',
        body: '{}',
        env: stripeEnv(),
      })
      expect(response.status).toBe(400)
    })
  })

  it('accepts a header carrying several v1 signatures when one is valid (secret rotation)', async () => {
    const { payment, session } = await startPayment()
    const completed = await fakeStripe(`sessions/${payment.session_id}/complete`, {
      payment_status: 'paid',
    })
    const response = await signedWebhook(
      sessionEvent('checkout.session.completed', { ...session, ...completed }),
      {
        extraSignatures: ['0'.repeat(64)],
      },
    )
    expect(response.status).toBe(200)
    expect((await paymentOf(String(payment.code_id))).status).toBe('paid')
  })

  it('asks Stripe at most 10 times a minute about one payment, however often its pages load', async () => {
    const { code, payment } = await startPayment()
    const asked = async () =>
      (await stripeRequests()).filter((r) => r.path.includes(String(payment.session_id))).length
    const before = await asked()
    // A looping tab (or a script) dropping the back-off counter, from several addresses; the
    // payment stays pending throughout, so every load would ask Stripe without the limit.
    const pages = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        call(`/${code.slug}/return/${payment.id}`, {
          env: stripeEnv(),
          headers: { 'cf-connecting-ip': `198.51.100.${i}` },
        }),
      ),
    )
    expect(pages.every((p) => p.status === 200)).toBe(true)
    const calls = (await asked()) - before
    expect(calls).toBeGreaterThan(0)
    expect(calls).toBeLessThanOrEqual(10)
  })

  it('answers the return and cancel pages without a 500 when payments are not configured', async () => {
    const { code, payment } = await startPayment()
    const unconfigured = { ENVIRONMENT: 'production', STRIPE_SECRET_KEY: '' }
    for (const path of ['return', 'cancel']) {
      const response = await call(`/${code.slug}/${path}/${payment.id}`, { env: unconfigured })
      expect([200, 303]).toContain(response.status)
    }
  })

  it('cancel expires the open Stripe session', async () => {
    const { code, payment } = await startPayment()
    const response = await call(`/${code.slug}/cancel/${payment.id}`, { env: stripeEnv() })
    expect(response.status).toBe(303)
    const expired = await fakeStripe(`sessions/${payment.session_id}/get`, {})
    expect(expired.status).toBe('expired')
  })
})
