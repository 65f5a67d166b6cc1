/**
 * Refunds reserved in D1 that never reached Stripe: the Worker that reserved one died (or lost its
 * connection) between the reservation and the Stripe call, so the row is `pending` with no Stripe
 * id and nobody will send it. The hourly holds job (reconcile.ts) sends each again, once it has
 * been left alone for STALLED_REFUND_AFTER_MS, with the same idempotency key (our refund id): if
 * the first request did reach Stripe after all, Stripe answers with that same refund, so a refund
 * is made at most once. Stripe's answer is applied as a request's would be (refunds.ts).
 *
 * Bounded per run (MAX_REFUNDS_PER_RUN, least recently touched first), within the job's budget of
 * one invocation. When Stripe cannot be reached again the refund stays `pending` (its amount still
 * reserved, so nothing can be refunded twice) and is touched, so others get their turn; a later
 * run sends it again. A refusal releases it (`failed`), as for a request.
 */
import { and, asc, eq, isNull, lte } from 'drizzle-orm'
import { createDb } from '../db/client'
import { payments, refunds } from '../db/schema'
import type { Bindings } from '../env'
import { log } from '../lib/log'
import type { PaymentContext } from './context'
import { accountOptions, sendRefund } from './refunds'

/**
 * How long a reserved refund may wait for its own request before the job sends it: far longer
 * than a request lives, so the job never races a request still on its way to Stripe.
 */
export const STALLED_REFUND_AFTER_MS = 15 * 60_000
/** Stalled refunds sent per run: a Stripe call (with the SDK's retries) and ~7 D1 queries each. */
export const MAX_REFUNDS_PER_RUN = 3

export interface RetriedRefunds {
  /** Sent again and answered by Stripe (succeeded, pending at Stripe, or failed there). */
  sent: number
  /** Stripe refused it: released. */
  refused: number
  /** Stripe unreachable again: still pending, a later run retries. */
  unreachable: number
}

export async function retryStalledRefunds(env: Bindings, now: number): Promise<RetriedRefunds> {
  const db = createDb(env.DB)
  const result: RetriedRefunds = { sent: 0, refused: 0, unreachable: 0 }
  const stalled = await db
    .select({ refund: refunds, payment: payments })
    .from(refunds)
    .innerJoin(payments, eq(payments.id, refunds.paymentId))
    .where(
      and(
        eq(refunds.status, 'pending'),
        isNull(refunds.providerRefundId),
        lte(refunds.updatedAt, now - STALLED_REFUND_AFTER_MS),
      ),
    )
    .orderBy(asc(refunds.updatedAt), asc(refunds.id))
    .limit(MAX_REFUNDS_PER_RUN)
  const ctx: PaymentContext = { env, db, base: '', origin: env.PUBLIC_BASE_URL ?? '' }
  for (const { refund, payment } of stalled) {
    let outcome: Awaited<ReturnType<typeof sendRefund>> | undefined
    try {
      outcome = await sendRefund(ctx, payment, refund, accountOptions(payment), 'keep')
    } catch (err) {
      log.error('stalled refund not settled; a later run retries', { refundId: refund.id }, err)
    }
    if (outcome?.kind === 'created') result.sent++
    else if (outcome?.kind === 'refused') result.refused++
    else {
      result.unreachable++
      // Its grace starts again, so the others get their turn before it is tried again.
      await db
        .update(refunds)
        .set({ updatedAt: now })
        .where(
          and(
            eq(refunds.id, refund.id),
            eq(refunds.status, 'pending'),
            isNull(refunds.providerRefundId),
          ),
        )
    }
    log.info('stalled refund sent again', {
      refundId: refund.id,
      outcome: outcome?.kind ?? 'error',
    })
  }
  return result
}
