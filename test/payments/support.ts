/** Helpers for the refund and dispute tests: a payment paid through the fake Stripe, its events. */
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import { fakeStripe, pay, stripeEnv, WEBHOOK_SECRET } from '../checkout/support'
import { call, merchantWithCode } from '../helpers'

export interface PaymentRow {
  id: string
  status: string
  refunded_amount: number
  session_id: string
  provider_payment_id: string | null
  dispute_status: string | null
  dispute_amount: number | null
}

export const paymentRow = async (id: string) =>
  (await env.DB.prepare('select * from payments where id = ?').bind(id).first()) as PaymentRow

/** Posts the fake's signed event about `object` to our webhook. */
export async function stripeEvent(type: string, object: string, id?: string) {
  const built = (await fakeStripe('events', { type, object, secret: WEBHOOK_SECRET, id })) as {
    payload: string
    signature: string
  }
  return call('/webhooks/stripe', {
    method: 'POST',
    body: built.payload,
    headers: { 'stripe-signature': built.signature, 'content-type': 'application/json' },
    env: stripeEnv(),
  })
}

/** A €4.50 payment paid through Stripe Checkout, confirmed by its signed webhook. */
export async function paidPayment(amount = 450) {
  const { key, code } = await merchantWithCode({
    action: 'checkout',
    currency: 'eur',
    amount,
    description: 'Flat white',
  })
  expect((await pay(code.slug, {}, stripeEnv())).status).toBe(303)
  const { id, session_id } = (await env.DB.prepare('select * from payments where code_id = ?')
    .bind(code.id)
    .first()) as PaymentRow
  await fakeStripe(`sessions/${session_id}/complete`, { payment_status: 'paid' })
  expect((await stripeEvent('checkout.session.completed', session_id)).status).toBe(200)
  const payment = await paymentRow(id)
  expect(payment.status).toBe('paid')
  return { key, code, payment }
}
