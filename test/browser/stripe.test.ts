/**
 * The built Worker (what `wrangler deploy` uploads: the Stripe SDK in a chunk loaded as CommonJS
 * on first use, see scripts/build/index.ts) paying through the real Stripe SDK against the in-repo
 * fake of Stripe's API, in workerd. The workers tests run the sources; this runs the build. No
 * browser.
 */
import type { Server } from 'node:http'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeStripe } from '../fakes/stripe-server'
import { type App, startApp } from './harness'

const SECRET = 'whsec_build_test'
let fake: { server: Server; port: number }
let app: App

beforeAll(async () => {
  fake = await startFakeStripe()
  app = await startApp({
    vars: {
      STRIPE_SECRET_KEY: 'sk_test_fake',
      STRIPE_WEBHOOK_SECRET: SECRET,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(fake.port),
      STRIPE_API_PROTOCOL: 'http',
    },
  })
}, 120_000)

afterAll(async () => {
  await app?.dispose()
  await new Promise((resolve) => fake?.server.close(resolve))
})

async function webhook(event: Record<string, unknown>, secret = SECRET) {
  const payload = JSON.stringify(event)
  const header = await new Stripe('sk_test_fake').webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  })
  return fetch(`${app.origin}/webhooks/stripe`, {
    method: 'POST',
    body: payload,
    headers: { 'stripe-signature': header, 'content-type': 'application/json' },
  })
}

describe('the built Worker with Stripe', () => {
  it('creates a Checkout Session, verifies the signed webhook and marks the payment paid', async () => {
    const created = await app.api('/api/v1/codes', {
      json: { action: 'checkout', currency: 'eur', amount: 450, description: 'Flat white' },
    })
    expect(created.status).toBe(201)
    const code = (await created.json()) as { id: string; slug: string }

    // The checkout page's form, as the customer's browser posts it: its hidden fields included.
    const shown = await (await fetch(`${app.origin}/${code.slug}`)).text()
    const price = /name="price" value="([0-9a-f]{32})"/.exec(shown)?.[1]
    expect(price).toBeDefined()
    const pressed = await fetch(`${app.origin}/${code.slug}/pay`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ price: price ?? '' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.origin },
    })
    expect(pressed.status).toBe(303)
    const sessionId = /^https:\/\/checkout\.stripe\.com\/c\/pay\/(cs_\w+)$/.exec(
      pressed.headers.get('location') ?? '',
    )?.[1]
    expect(sessionId).toBeDefined()

    const session = (await (
      await fetch(`http://127.0.0.1:${fake.port}/__fake/sessions/${sessionId}/complete`, {
        method: 'POST',
      })
    ).json()) as Record<string, unknown>
    const event = {
      id: `evt_build_${Date.now()}`,
      object: 'event',
      api_version: '2025-10-29.clover',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: 'checkout.session.completed',
      data: { object: session },
    }

    // A wrong secret is refused by the SDK's verification, and changes nothing.
    const forged = await webhook(event, 'whsec_someone_else')
    expect(forged.status).toBe(400)
    expect(((await forged.json()) as { code: string }).code).toBe('invalid_signature')
    const before = (await (await app.api(`/api/v1/payments?code_id=${code.id}`)).json()) as {
      data: { status: string; amount: number }[]
    }
    expect(before.data.map((p) => p.status)).toEqual(['pending'])

    expect((await webhook(event)).status).toBe(200)
    const after = (await (await app.api(`/api/v1/payments?code_id=${code.id}`)).json()) as {
      data: { status: string; amount: number; currency: string }[]
    }
    expect(after.data.map((p) => [p.status, p.amount, p.currency])).toEqual([['paid', 450, 'eur']])
  })
})
