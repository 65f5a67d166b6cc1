/**
 * The hourly check of limited codes' payment holds whose Stripe webhook never came.
 *
 * A hold on a limited code outlives its Checkout Session by HOLD_GRACE_MS (3 days, Stripe's retry
 * window for webhooks). If the webhook endpoint is broken, that grace both blocks a single-use code
 * for 3 days after an unpaid session expired, and, worse, lets one more customer pay once it has
 * lapsed, when the session had in fact been paid. So once a session's expiry is RECONCILE_AFTER_MS
 * past and its payment is still `pending` in D1 (no webhook applied), the cron asks Stripe about
 * the session and settles only the hold:
 *
 * - expired or failed at Stripe: the slot is released (what the `expired` webhook would have done);
 * - paid or processing at Stripe: the slot is kept for good, and the missing webhook is logged as
 *   an error. The payment stays `pending`: a payment becomes paid only from a signed webhook
 *   (webhook.ts), which Stripe keeps redelivering and which then settles it as usual;
 * - still open, or Stripe unreachable: nothing changes, and the next run asks again.
 *
 * Only payments whose session expired within the grace are asked about (after it, the hold is
 * gone or kept for good), at most MAX_PER_RUN per run.
 */
import { and, between, eq, isNotNull } from 'drizzle-orm'
import { createDb } from '../db/client'
import { codes, payments } from '../db/schema'
import type { Bindings } from '../env'
import { hubFor } from '../hub/client'
import { HOLD_GRACE_MS, PROCESSING_HOLD_UNTIL } from './effects'
import type { SessionOutcome } from './provider'
import { stripeProvider } from './stripe'

/** How long after a session's expiry its webhook may still be on its way before we ask. */
export const RECONCILE_AFTER_MS = 15 * 60_000
/** Sessions asked about per run (one Stripe call and one hub call each). */
export const MAX_PER_RUN = 50

export interface Reconciled {
  checked: number
  released: number
  kept: number
  unchanged: number
}

/** What a session's state at Stripe means for its hold. */
const ACTION: Record<SessionOutcome, 'release' | 'keep' | 'wait'> = {
  expired: 'release',
  failed: 'release',
  paid: 'keep',
  processing: 'keep',
  open: 'wait',
}

export async function reconcileHolds(
  env: Bindings,
  now = Date.now(),
): Promise<Reconciled | undefined> {
  // Test mode has no webhooks to miss: its sessions settle synchronously.
  if (!env.STRIPE_SECRET_KEY) return undefined
  const db = createDb(env.DB)
  const stuck = await db
    .select({ id: payments.id, codeId: payments.codeId, sessionId: payments.sessionId })
    .from(payments)
    .innerJoin(codes, eq(codes.id, payments.codeId))
    .where(
      and(
        eq(payments.status, 'pending'),
        eq(payments.provider, 'stripe'),
        isNotNull(payments.sessionId),
        between(payments.sessionExpiresAt, now - HOLD_GRACE_MS.stripe, now - RECONCILE_AFTER_MS),
        isNotNull(codes.maxPayments),
      ),
    )
    .orderBy(payments.sessionExpiresAt)
    .limit(MAX_PER_RUN)
  const stripe = stripeProvider(env)
  const result: Reconciled = { checked: 0, released: 0, kept: 0, unchanged: 0 }
  for (const payment of stuck) {
    if (!payment.sessionId) continue
    result.checked++
    try {
      const session = await stripe.getSession(payment.sessionId)
      const hub = hubFor(env, payment.codeId)
      switch (ACTION[session.outcome]) {
        case 'release':
          await hub.settlePayment(payment.id, 'released')
          result.released++
          break
        case 'keep':
          await hub.reservePayment({
            paymentId: payment.id,
            limit: null,
            holdUntil: PROCESSING_HOLD_UNTIL,
          })
          console.error(
            `payment ${payment.id}: Stripe session ${payment.sessionId} is ${session.outcome} but no webhook was applied; its slot is kept. Check the webhook endpoint.`,
          )
          result.kept++
          break
        case 'wait':
          result.unchanged++
          break
      }
    } catch (err) {
      console.error(`payment ${payment.id}: hold not reconciled; the next run retries`, err)
      result.unchanged++
    }
  }
  if (result.checked) console.log('payment holds reconciled', result)
  return result
}
