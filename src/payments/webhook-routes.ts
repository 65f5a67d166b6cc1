/**
 * `POST /webhooks/stripe`: the only way a Stripe payment becomes paid. The raw body is verified
 * before anything is parsed; then the event takes the one path every provider's event takes
 * (events.ts): the event id and the state change land in one D1 batch, then the code's hub.
 */
import { Hono } from 'hono'
import { isPaidStatus } from '../db/schema'
import type { AppEnv } from '../env'
import { ApiError } from '../errors'
import { limitBody } from '../http'
import { paymentContext } from './context'
import { receivePaymentEvent } from './events'
import { isMoneyEvent, receiveMoneyWebhook } from './money-events'
import { ProviderError } from './provider'
import { setPaymentMethod } from './queries'
import { rememberProviderPayment } from './refund-queries'
import { stripeProvider, type VerifiedEvent, verifyStripeWebhook } from './stripe'

export const webhookRoutes = new Hono<AppEnv>()

/** Stripe's events are a few KB; a megabyte leaves room and keeps a flood out of memory. */
const WEBHOOK_MAX_BYTES = 1024 * 1024

webhookRoutes.post('/stripe', limitBody(WEBHOOK_MAX_BYTES), async (c) => {
  const signature = c.req.header('stripe-signature')
  const raw = await c.req.text()
  if (!signature)
    throw new ApiError(400, 'invalid_signature', 'The Stripe-Signature header is missing.')
  let event: VerifiedEvent
  try {
    event = await verifyStripeWebhook(c.env, raw, signature)
  } catch (err) {
    if (err instanceof ProviderError) throw new ApiError(503, 'not_configured', err.message)
    throw new ApiError(
      400,
      'invalid_signature',
      'The signature does not match this body and secret.',
    )
  }
  if (isMoneyEvent(event.type)) return c.json(await receiveMoneyWebhook(c, event))
  const session = event.session
  if (!session?.paymentId) return c.json({ received: true, handled: false })

  const ctx = paymentContext(c.env, c.req.url)
  const received = await receivePaymentEvent(ctx, {
    id: event.id,
    provider: 'stripe',
    type: event.type,
    paymentId: session.paymentId,
    sessionId: session.id,
    outcome: session.outcome === 'open' ? 'processing' : session.outcome,
    amount: session.amount,
    currency: session.currency,
    email: session.email,
    method: session.method,
  })
  if (received.kind === 'ignored') {
    console.warn('stripe event not applied', event.id, event.type, received.reason)
    return c.json({ received: true, handled: false })
  }
  const { payment } = received
  if (session.providerPaymentId && isPaidStatus(payment.status)) {
    await rememberProviderPayment(ctx.db, payment.id, session.providerPaymentId)
  }
  if (payment.status === 'paid' && !payment.methodLast4) {
    // Checkout's event carries no card details: they are fetched for the receipt (display only)
    // after the answer, so Stripe is answered at once; a repeated delivery tries again.
    c.executionCtx.waitUntil(
      stripeProvider(c.env)
        .getSession(session.id)
        .then((full) => full.method && setPaymentMethod(ctx.db, payment.id, full.method))
        .catch((err) => console.error('card details not saved for the receipt', payment.id, err)),
    )
  }
  if (received.kind === 'unsettled') {
    // The state change is stored; a non-2xx makes Stripe redeliver, and the repeat settles it.
    throw new ApiError(503, 'temporarily_unavailable', 'Recorded; finishing failed. Retry later.')
  }
  return c.json({ received: true, handled: true })
})
