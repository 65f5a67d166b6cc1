/**
 * Production builds no link from the `Host` header (workerd makes the request's URL from it, and
 * anyone can send one): with PUBLIC_BASE_URL set, every absolute URL in API answers, the OpenAPI
 * document, QR contents, Stripe's return URLs and pages uses it whatever `Host` says; without it,
 * what needs a link is refused with 503 `not_configured` and nothing is stored. The test-mode
 * provider never serves production.
 */
import { env } from 'cloudflare:workers'
import Stripe from 'stripe'
import { describe, expect, it } from 'vitest'
import { AdminClient } from '../admin/client'
import {
  chooseOutcome,
  fakeStripe,
  pay,
  payForm,
  paymentsOf,
  sessionEvent,
  stripeEnv,
  stripeRequests,
  WEBHOOK_SECRET,
} from '../checkout/support'
import { type CallOptions, call, merchantWithCode, ORIGIN, postForm, problemOf } from '../helpers'

/** What a request with `-H 'Host: evil.example'` looks like to the Worker. */
const EVIL = 'https://evil.example'
const PUBLIC = 'https://pay.example.com'
const CONFIGURED = { ENVIRONMENT: 'production', PUBLIC_BASE_URL: PUBLIC }
const UNCONFIGURED = { ENVIRONMENT: 'production', PUBLIC_BASE_URL: '' }

/** A request to the Worker under the attacker's Host, as a browser there would send it. */
const viaEvil = (path: string, options: CallOptions = {}) =>
  call(path, {
    ...options,
    origin: EVIL,
    headers: { origin: EVIL, 'cf-connecting-ip': '203.0.113.9', ...options.headers },
  })

/** A merchant with a checkout code paid once in test mode (so its payment has a receipt URL). */
async function paidCode() {
  const merchant = await merchantWithCode()
  const pressed = await pay(merchant.code.slug)
  expect(pressed.status).toBe(303)
  const chosen = await chooseOutcome(pressed.headers.get('location') ?? '', 'paid')
  expect(chosen.status).toBe(303)
  const [payment] = await paymentsOf(merchant.code.id)
  expect(payment?.status).toBe('paid')
  return { ...merchant, paymentId: payment?.id ?? '' }
}

async function codeRow(id: string) {
  return env.DB.prepare('select status, version, description from codes where id = ?')
    .bind(id)
    .first()
}

describe('in production with PUBLIC_BASE_URL, links use it whatever Host says', () => {
  it('gives API answers, the OpenAPI document and the reference only the configured origin', async () => {
    const { key, code, paymentId } = await paidCode()
    const asKey = { key, env: CONFIGURED }
    const answers: [string, Response][] = [
      [
        'create',
        await viaEvil('/api/v1/codes', {
          ...asKey,
          json: { action: 'redirect', destination_url: 'https://example.com/menu' },
        }),
      ],
      ['list codes', await viaEvil('/api/v1/codes', asKey)],
      ['get code', await viaEvil(`/api/v1/codes/${code.id}`, asKey)],
      [
        'update code',
        await viaEvil(`/api/v1/codes/${code.id}`, {
          ...asKey,
          method: 'PATCH',
          json: { description: 'Oat flat white' },
        }),
      ],
      ['list payments', await viaEvil('/api/v1/payments', asKey)],
      ['get payment', await viaEvil(`/api/v1/payments/${paymentId}`, asKey)],
      [
        'live token',
        await viaEvil(`/api/v1/codes/${code.id}/live-token`, { ...asKey, method: 'POST' }),
      ],
      ['openapi', await viaEvil('/openapi.json', { env: CONFIGURED })],
      ['docs', await viaEvil('/docs', { env: CONFIGURED })],
    ]
    const bodies = new Map<string, string>()
    for (const [name, response] of answers) {
      expect(response.status, name).toBeLessThan(300)
      const body = await response.text()
      expect(body, name).not.toContain('evil.example')
      bodies.set(name, body)
    }
    const got = JSON.parse(bodies.get('get code') ?? '{}')
    expect(got.url).toBe(`${PUBLIC}/${code.slug}`)
    expect(got.qr_svg_url).toBe(`${PUBLIC}/qr/${code.slug}.svg`)
    expect(got.qr_content).toBe(`${PUBLIC}/${code.slug.toUpperCase()}`)
    const payment = JSON.parse(bodies.get('get payment') ?? '{}')
    expect(payment.receipt_url).toMatch(new RegExp(`^${PUBLIC}/r/rcpt_`))
    const live = JSON.parse(bodies.get('live token') ?? '{}')
    expect(live.url).toMatch(
      new RegExp(`^wss://pay\\.example\\.com/api/v1/codes/${code.id}/live\\?`),
    )
    expect(JSON.parse(bodies.get('openapi') ?? '{}').servers).toEqual([{ url: PUBLIC }])
    expect(bodies.get('docs')).toContain(PUBLIC)
  })

  it('encodes the configured origin into QR images', async () => {
    const { code } = await merchantWithCode({ action: 'redirect', destination_url: 'https://x.io' })
    const path = `/qr/${code.slug}.svg`
    const evil = await viaEvil(path, { env: CONFIGURED })
    const own = await call(path, { env: CONFIGURED, origin: PUBLIC })
    expect(evil.status).toBe(200)
    // The ETag is a digest of the symbol's content: the same one as under our own origin.
    expect(evil.headers.get('etag')).toBe(own.headers.get('etag'))
    expect(await evil.text()).toBe(await own.text())
  })

  it("shows the configured origin on the admin's code and payment pages", async () => {
    const { key, code, paymentId } = await paidCode()
    const admin = await AdminClient.signIn(key)
    for (const path of [`/admin/codes/${code.id}`, `/admin/payments/${paymentId}`]) {
      const page = await viaEvil(path, { env: CONFIGURED, headers: { cookie: admin.cookie } })
      expect(page.status, path).toBe(200)
      const html = await page.text()
      expect(html, path).not.toContain('evil.example')
      expect(html, path).toContain('pay.example.com')
    }
  })

  it('sends Stripe back to the configured origin', async () => {
    const { code } = await merchantWithCode()
    const pressed = await payForm(
      code.slug,
      {},
      // The page was served from our origin, so that is the form's Origin; Host says otherwise.
      { origin: EVIL, headers: { origin: PUBLIC }, env: { ...stripeEnv(), ...CONFIGURED } },
    )
    expect(pressed.status).toBe(303)
    const [payment] = await paymentsOf(code.id)
    const [request] = (await stripeRequests()).filter((r) => r.idempotencyKey === payment?.id)
    expect(request?.params).toMatchObject({
      success_url: `${PUBLIC}/${code.slug}/return/${payment?.id}`,
      cancel_url: `${PUBLIC}/${code.slug}/cancel/${payment?.id}`,
    })
  })
})

describe('in production without PUBLIC_BASE_URL, what needs a link is refused', () => {
  it('answers the API with 503 not_configured and stores nothing', async () => {
    const { key, code, paymentId } = await paidCode()
    const asKey = { key, env: UNCONFIGURED }
    const before = await codeRow(code.id)
    const { results: codesBefore } = await env.DB.prepare('select id from codes').all()
    const refused: [string, Response][] = [
      [
        'create',
        await viaEvil('/api/v1/codes', {
          ...asKey,
          json: { action: 'redirect', destination_url: 'https://example.com/menu' },
        }),
      ],
      [
        'update',
        await viaEvil(`/api/v1/codes/${code.id}`, {
          ...asKey,
          method: 'PATCH',
          json: { description: 'Changed' },
        }),
      ],
      ['archive', await viaEvil(`/api/v1/codes/${code.id}`, { ...asKey, method: 'DELETE' })],
      ['list codes', await viaEvil('/api/v1/codes', asKey)],
      ['get code', await viaEvil(`/api/v1/codes/${code.id}`, asKey)],
      ['list payments', await viaEvil('/api/v1/payments', asKey)],
      ['get payment', await viaEvil(`/api/v1/payments/${paymentId}`, asKey)],
      [
        'live token',
        await viaEvil(`/api/v1/codes/${code.id}/live-token`, { ...asKey, method: 'POST' }),
      ],
      ['qr', await viaEvil(`/qr/${code.slug}.svg`, { env: UNCONFIGURED })],
      ['openapi', await viaEvil('/openapi.json', { env: UNCONFIGURED })],
    ]
    for (const [name, response] of refused) {
      expect(response.status, name).toBe(503)
      const problem = await problemOf(response)
      expect(problem.code, name).toBe('not_configured')
      expect(JSON.stringify(problem), name).not.toContain('evil.example')
    }
    expect(await codeRow(code.id)).toEqual(before)
    const { results: codesAfter } = await env.DB.prepare('select id from codes').all()
    expect(codesAfter).toEqual(codesBefore)
  })

  it('answers the reference and the admin code page with a 503 page', async () => {
    const { key, code } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    for (const [path, headers] of [
      ['/docs', {}],
      [`/admin/codes/${code.id}`, { cookie: admin.cookie }],
    ] as const) {
      const page = await viaEvil(path, { env: UNCONFIGURED, headers })
      expect(page.status, path).toBe(503)
      expect(page.headers.get('content-type'), path).toContain('text/html')
      const html = await page.text()
      expect(html, path).toContain('not fully set up')
      expect(html, path).not.toContain('evil.example')
    }
  })

  it('refuses pay with a "not set up" page, asking Stripe nothing', async () => {
    const { code } = await merchantWithCode()
    const asked = (await stripeRequests()).length
    const pressed = await payForm(
      code.slug,
      {},
      { origin: EVIL, headers: { origin: EVIL }, env: { ...stripeEnv(), ...UNCONFIGURED } },
    )
    expect(pressed.status).toBe(503)
    const html = await pressed.text()
    // The form's origin check needs our origin first, and there is none to check against.
    expect(html).toContain('not fully set up')
    expect(html).not.toContain('evil.example')
    expect(await paymentsOf(code.id)).toHaveLength(0)
    expect((await stripeRequests()).length).toBe(asked)
  })

  it('still takes Stripe webhooks and shows return pages, which need no link', async () => {
    const { code } = await merchantWithCode()
    const pressed = await payForm(
      code.slug,
      {},
      { origin: PUBLIC, headers: { origin: PUBLIC }, env: { ...stripeEnv(), ...CONFIGURED } },
    )
    expect(pressed.status).toBe(303)
    const [payment] = await paymentsOf(code.id)
    const session = await fakeStripe(`sessions/${payment?.session_id}/get`, {})
    const completed = await fakeStripe(`sessions/${payment?.session_id}/complete`, {
      payment_status: 'paid',
    })
    const event = sessionEvent('checkout.session.completed', { ...session, ...completed })
    const payload = JSON.stringify(event)
    const signature = await new Stripe('sk_test_fake').webhooks.generateTestHeaderStringAsync({
      payload,
      secret: WEBHOOK_SECRET,
      cryptoProvider: Stripe.createSubtleCryptoProvider(),
    })
    const delivered = await viaEvil('/webhooks/stripe', {
      method: 'POST',
      body: payload,
      headers: { 'stripe-signature': signature, 'content-type': 'application/json' },
      env: { ...stripeEnv(), ...UNCONFIGURED },
    })
    expect(delivered.status).toBe(200)
    expect((await paymentsOf(code.id))[0]?.status).toBe('paid')
    const back = await viaEvil(`/${code.slug}/return/${payment?.id}`, {
      env: { ...stripeEnv(), ...UNCONFIGURED },
    })
    expect(back.status).toBe(200)
    expect(await back.text()).toContain('Payment received')
  })
})

describe('production never serves the test-mode provider', () => {
  it('404s the test checkout of a payment begun in development, and it stays pending', async () => {
    const { code } = await merchantWithCode()
    const pressed = await pay(code.slug)
    const checkout = new URL(pressed.headers.get('location') ?? '', ORIGIN).pathname
    expect(checkout).toMatch(/^\/test-mode\/checkout\//)
    for (const production of [CONFIGURED, UNCONFIGURED]) {
      const page = await call(checkout, { env: production })
      expect(page.status).toBe(404)
      expect(await page.text()).not.toContain('Pay (succeeds)')
      const chosen = await postForm(checkout, { outcome: 'paid' }, { env: production })
      expect(chosen.status).toBe(404)
      const refused = await payForm(
        code.slug,
        {},
        { origin: PUBLIC, headers: { origin: PUBLIC }, env: production },
      )
      expect(refused.status).toBe(503)
      expect(await refused.text()).not.toContain('TEST MODE')
    }
    expect((await paymentsOf(code.id)).map((p) => p.status)).toEqual(['pending'])
  })
})
