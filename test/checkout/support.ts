/** Helpers for payment tests: the fake Stripe's address, signed webhooks, and the pay form. */

import { env } from 'cloudflare:workers'
import Stripe from 'stripe'
import { inject } from 'vitest'
import { findCodeBySlug } from '../../src/codes/queries'
import { createDb } from '../../src/db/client'
import { priceShown } from '../../src/payments/price-shown'
import {
  type CallOptions,
  call,
  merchantWithCode,
  ORIGIN,
  postForm,
  replaceMethod,
} from '../helpers'

export const WEBHOOK_SECRET = 'whsec_test_secret'

/** Bindings that point the real Stripe SDK at the in-repo fake. */
export function stripeEnv() {
  return {
    STRIPE_SECRET_KEY: 'sk_test_fake',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(inject('stripePort')),
    STRIPE_API_PROTOCOL: 'http',
  }
}

export const fakeStripe = (path: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${inject('stripePort')}/__fake/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((r) => r.json() as Promise<Record<string, unknown>>)

export interface RecordedRequest {
  method: string
  path: string
  params: Record<string, unknown>
  idempotencyKey: string | null
  /** The `Stripe-Account` header: the connected account the call was made for. */
  stripeAccount: string | null
}

export async function stripeRequests(): Promise<RecordedRequest[]> {
  return (await fakeStripe('requests')) as unknown as RecordedRequest[]
}

/**
 * Posts the pay form like a browser would (same-origin), with the hidden `price` field the code's
 * checkout page shows now (read from D1, so no scan is recorded) unless `fields` gives one.
 */
export async function payForm(
  slug: string,
  fields: Record<string, string> = {},
  options: CallOptions = {},
) {
  const code = await findCodeBySlug(createDb(env.DB), slug.toLowerCase())
  const price = code ? priceShown(code) : ''
  return postForm(`/${slug}/pay`, { price, ...fields }, options)
}

/** Presses pay like a browser form would. */
export function pay(
  slug: string,
  fields: Record<string, string> = {},
  bindings?: Record<string, string>,
) {
  return payForm(slug, fields, { env: bindings })
}

/** The customer's choice on the test-mode provider's checkout page (`checkoutUrl` from pay). */
export function chooseOutcome(
  checkoutUrl: string,
  outcome: 'paid' | 'failed',
  fields: Record<string, string> = {},
) {
  return postForm(new URL(checkoutUrl, ORIGIN).pathname, { outcome, ...fields })
}

const signer = new Stripe('sk_test_fake')

export async function signedWebhook(
  event: Record<string, unknown>,
  options: {
    secret?: string
    timestamp?: number
    tamper?: boolean
    extraSignatures?: string[]
  } = {},
) {
  const payload = JSON.stringify(event)
  let header = await signer.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? WEBHOOK_SECRET,
    timestamp: options.timestamp,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  })
  if (options.extraSignatures)
    header = `${header},${options.extraSignatures.map((s) => `v1=${s}`).join(',')}`
  const body = options.tamper ? payload.replace('"livemode":false', '"livemode":true ') : payload
  return call('/webhooks/stripe', {
    method: 'POST',
    body,
    headers: { 'stripe-signature': header, 'content-type': 'application/json' },
    env: stripeEnv(),
  })
}

let eventCounter = 0
export function sessionEvent(type: string, session: Record<string, unknown>, id?: string) {
  eventCounter += 1
  return {
    id: id ?? `evt_test_${Date.now()}_${eventCounter}`,
    object: 'event',
    api_version: '2025-10-29.clover',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type,
    data: { object: session },
  }
}

/** One customer (own IP) pressing pay. */
export function press(
  slug: string,
  customer: number,
  bindings?: Record<string, string>,
  cookie?: string,
) {
  return payForm(
    slug,
    {},
    {
      headers: { 'cf-connecting-ip': `203.0.113.${customer}`, ...(cookie ? { cookie } : {}) },
      env: bindings,
    },
  )
}

/**
 * `CODE_HUB` whose hubs store a reservation and then lose its answer (the caller sees an error),
 * as a reset object or a dropped connection can; with `releaseFails`, releasing fails too.
 */
export function lostReplyHub(options: { releaseFails?: boolean } = {}) {
  const lost = () => Promise.reject(new Error('Network connection lost.'))
  return replaceMethod(env.CODE_HUB, 'get', (get) => (id, opts) => {
    const stub = get(id, opts)
    type Hub = typeof stub
    const hub = {
      reservePayment: (input: Parameters<Hub['reservePayment']>[0]) =>
        stub.reservePayment(input).then(lost),
      settlePayment: (...args: Parameters<Hub['settlePayment']>) =>
        options.releaseFails ? lost() : stub.settlePayment(...args),
    }
    return hub as unknown as Hub
  })
}

/** The cookie a response set, as the browser sends it back (`name=value`). */
export const cookieFrom = (response: Response) =>
  (response.headers.get('set-cookie') ?? '').split(';')[0] ?? ''

/** A €5 checkout code, taking any number of payments or at most `maxPayments`. */
export function euroCode(maxPayments?: number) {
  return merchantWithCode({
    action: 'checkout',
    currency: 'eur',
    amount: 500,
    description: 'x',
    ...(maxPayments === undefined ? {} : { max_payments: maxPayments }),
  })
}

/** A €5 checkout code that takes at most `maxPayments` payments. */
export const limitedCode = (maxPayments: number) => euroCode(maxPayments)

export async function paymentsOf(codeId: string) {
  const { results } = await env.DB.prepare(
    'select * from payments where code_id = ? order by created_at',
  )
    .bind(codeId)
    .all<{ id: string; status: string; session_id: string; session_expires_at: number }>()
  return results
}
