/**
 * `POST /webhooks/stripe` (and `/webhooks/stripe/connect`, connected accounts' events): the only
 * way a Stripe payment becomes paid. The raw body is verified
 * before anything is parsed; then the event takes the one path every provider's event takes
 * (events.ts): the event id and the state change land in one D1 batch, then the code's hub.
 */
import { type Context, Hono } from 'hono'
import type Stripe from 'stripe'
import { createDb } from '../db/client'
import { isPaidStatus } from '../db/schema'
import type { AppEnv } from '../env'
import { ApiError } from '../errors'
import { limitBody } from '../http'
import { log } from '../lib/log'
import { applyAccountSnapshot, forgetAccount } from './accounts'
import { paymentContext } from './context'
import { receivePaymentEvent } from './events'
import { isMoneyEvent, receiveMoneyWebhook } from './money-events'
import { ProviderError } from './provider'
import { setPaymentMethod } from './queries'
import { rememberProviderPayment } from './refund-queries'
import { stripeProvider, type VerifiedEvent, verifyStripeWebhook } from './stripe'
import { accountSnapshotOf } from './stripe-accounts'

export const webhookRoutes = new Hono<AppEnv>()

/** Stripe's events are a few KB; a megabyte leaves room and keeps a flood out of memory. */
const WEBHOOK_MAX_BYTES = 1024 * 1024

/** The raw body verified under the endpoint's secret; a problem+json when it is not. */
async function verifiedEvent(c: Context<AppEnv>, endpoint: 'platform' | 'connect') {
  const signature = c.req.header('stripe-signature')
  const raw = await c.req.text()
  if (!signature)
    throw new ApiError(400, 'invalid_signature', 'The Stripe-Signature header is missing.')
  try {
    return await verifyStripeWebhook(c.env, raw, signature, endpoint)
  } catch (err) {
    if (err instanceof ProviderError) throw new ApiError(503, 'not_configured', err.message)
    throw new ApiError(
      400,
      'invalid_signature',
      'The signature does not match this body and secret.',
    )
  }
}

webhookRoutes.post('/stripe', limitBody(WEBHOOK_MAX_BYTES), async (c) =>
  receiveCheckoutEvent(c, await verifiedEvent(c, 'platform')),
)

/**
 * `POST /webhooks/stripe/connect`: events from merchants' connected accounts (platform mode),
 * under their own signing secret. A Checkout event takes the same path as the platform's (the
 * payment must have been made on the account it came from); `account.updated` keeps the
 * merchant's account state current.
 */
webhookRoutes.post('/stripe/connect', limitBody(WEBHOOK_MAX_BYTES), async (c) => {
  const event = await verifiedEvent(c, 'connect')
  if (event.type === 'account.updated') return receiveAccountUpdate(c, event)
  if (event.type === 'account.application.deauthorized') {
    const merchantId = event.account
      ? await forgetAccount(createDb(c.env.DB), event.account, event.createdAt)
      : undefined
    log.info('connected account disconnected', { eventId: event.id, merchantId })
    return c.json({ received: true, handled: merchantId !== undefined })
  }
  if (!event.account) {
    // A Connect endpoint only hears connected accounts; without one, it is not theirs.
    log.warn('connect event without an account', { eventId: event.id, type: event.type })
    return c.json({ received: true, handled: false })
  }
  return receiveCheckoutEvent(c, event)
})

/** A Checkout event, from either endpoint: the one path every provider's event takes. */
async function receiveCheckoutEvent(c: Context<AppEnv>, event: VerifiedEvent) {
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
    account: event.account,
  })
  if (received.kind === 'ignored') {
    log.warn('stripe event not applied', {
      eventId: event.id,
      type: event.type,
      reason: received.reason,
    })
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
      stripeProvider(c.env, payment.stripeAccount)
        .getSession(session.id)
        .then((full) => full.method && setPaymentMethod(ctx.db, payment.id, full.method))
        .catch((err) =>
          log.error('card details not saved for the receipt', { paymentId: payment.id }, err),
        ),
    )
  }
  if (received.kind === 'unsettled') {
    // The state change is stored; a non-2xx makes Stripe redeliver, and the repeat settles it.
    throw new ApiError(503, 'temporarily_unavailable', 'Recorded; finishing failed. Retry later.')
  }
  return c.json({ received: true, handled: true })
}

/**
 * `account.updated`: the account's state as of the event, stored on the merchant whose account it
 * is, unless D1 already holds a newer word (an older event arriving late changes nothing).
 */
async function receiveAccountUpdate(c: Context<AppEnv>, event: VerifiedEvent) {
  const object = event.object as Stripe.Account | null
  if (!event.account || object?.object !== 'account' || object.id !== event.account) {
    log.warn('account event not from its account', { eventId: event.id, account: event.account })
    return c.json({ received: true, handled: false })
  }
  const db = createDb(c.env.DB)
  const stored = await applyAccountSnapshot(db, accountSnapshotOf(object), event.createdAt)
  if (!stored) {
    log.warn('account event for no merchant', { eventId: event.id, account: event.account })
    return c.json({ received: true, handled: false })
  }
  if (!stored.applied) {
    log.info('account event older than the stored state', {
      eventId: event.id,
      merchantId: stored.merchantId,
    })
  }
  return c.json({ received: true, handled: true })
}
