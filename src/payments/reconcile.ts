/**
 * The hourly check of limited codes' payment holds whose Stripe webhook never came.
 *
 * A hold on a limited code outlives its Checkout Session by HOLD_GRACE_MS (3 days, Stripe's retry
 * window for webhooks). If the webhook endpoint is broken, that grace both blocks a single-use code
 * for 3 days after an unpaid session expired, and, worse, lets one more customer pay once it has
 * lapsed, when the session had in fact been paid. So once a session's expiry is RECONCILE_AFTER_MS
 * past and its payment is still `pending` in D1 (no webhook applied), the cron asks Stripe about
 * the session:
 *
 * - expired, or failed (a delayed payment whose intent can no longer succeed): the payment gets
 *   that outcome through `applyPaymentEvent`, as from a webhook, which releases its slot;
 * - paid: the slot is kept for good and the missing webhook is logged as an error. The payment
 *   stays `pending`: only Stripe's signed webhook marks a payment paid (webhook.ts), and Stripe
 *   keeps redelivering it; this payment is not asked about again;
 * - processing (a delayed method): the slot is kept until it settles, as from its webhook, and it
 *   is asked about again on later runs, past the grace too, until Stripe says paid or failed;
 * - still open, or Stripe unreachable: nothing changes, asked again on a later run.
 *
 * It runs on its own cron (HOLDS_CRON), and a run stays within what one invocation may do on the
 * free plan (50 D1 queries, 50 subrequests): at most MAX_PER_RUN payments (a Stripe call, with
 * the SDK's 2 retries, a hub call and up to 4 D1 statements each), those not asked about for
 * longest first, so a backlog is worked through in turn; the times asked are written in one
 * statement. The same run releases again the holds of payments that never got a session: failed
 * before it, in case the pay route's own release failed too (the hub's release is idempotent), or
 * still `pending` 15 minutes after pay was pressed, which it marks failed first. Last, it sends
 * again up to MAX_REFUNDS_PER_RUN refunds reserved in D1 that never reached Stripe
 * (refund-retry.ts), with the same idempotency key.
 */
import { and, asc, eq, gte, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm'
import { createDb, type Db } from '../db/client'
import { codes, payments } from '../db/schema'
import type { Bindings } from '../env'
import { hubFor } from '../hub/client'
import { log } from '../lib/log'
import { afterPaymentEvent, HOLD_GRACE_MS, PROCESSING_HOLD_UNTIL } from './effects'
import { applyPaymentEvent, failBeforeCheckout } from './queries'
import { type RetriedRefunds, retryStalledRefunds } from './refund-retry'
import { stripeProvider } from './stripe'

/** How long after a session's expiry its webhook may still be on its way before we ask. */
export const RECONCILE_AFTER_MS = 15 * 60_000
/** Payments asked about per run, and stray holds released per run (see the budget above). */
export const MAX_PER_RUN = 8

export interface Reconciled {
  checked: number
  /** Payments marked expired or failed from Stripe's answer; their slots released. */
  closed: number
  /** Slots kept: paid without a webhook (for good), or processing. */
  kept: number
  unchanged: number
  /** Holds of payments that never got a session (failed before it, or left pending), released. */
  strays: number
  /** Refunds that never reached Stripe, sent again (refund-retry.ts). */
  refunds: RetriedRefunds
}

export async function reconcileHolds(
  env: Bindings,
  now = Date.now(),
): Promise<Reconciled | undefined> {
  // Test mode has no webhooks to miss: its sessions settle synchronously.
  if (!env.STRIPE_SECRET_KEY) return undefined
  const db = createDb(env.DB)
  const result: Reconciled = {
    checked: 0,
    closed: 0,
    kept: 0,
    unchanged: 0,
    strays: 0,
    refunds: { sent: 0, refused: 0, unreachable: 0 },
  }
  const checked: string[] = []
  const keptForGood: string[] = []
  for (const payment of await overdue(db, now)) {
    const sessionId = payment.sessionId as string
    checked.push(payment.id)
    try {
      // Asked of the account the session was made on (a connected one, in platform mode).
      const session = await stripeProvider(env, payment.stripeAccount).getSession(sessionId)
      switch (session.outcome) {
        case 'expired':
        case 'failed': {
          const applied = await applyPaymentEvent(db, {
            id: `reconcile_${sessionId}_${session.outcome}`,
            provider: 'stripe',
            type: `reconcile.${session.outcome}`,
            paymentId: payment.id,
            sessionId,
            outcome: session.outcome,
            amount: session.amount,
            currency: session.currency,
            email: null,
            method: null,
          })
          if (!applied.payment) throw new Error(`not applied: ${applied.reason}`)
          result.closed++
          await afterPaymentEvent(env, applied.payment, payment.slug, env.PUBLIC_BASE_URL ?? '')
            // The payment is closed now, so no later run selects it: say what happens instead.
            .catch((err) =>
              log.error(
                'payment closed, but its slot was not released; the hold lapses',
                {
                  paymentId: payment.id,
                  outcome: session.outcome,
                  lapsesWithinHours: HOLD_GRACE_MS.stripe / 3_600_000,
                },
                err,
              ),
            )
          break
        }
        case 'paid':
        case 'processing':
          // Kept until it settles (paid: for good; processing: until Stripe says, asked again).
          await hubFor(env, payment.codeId).reservePayment({
            paymentId: payment.id,
            limit: null,
            holdUntil: PROCESSING_HOLD_UNTIL,
          })
          if (session.outcome === 'paid') keptForGood.push(payment.id)
          log.error('no webhook was applied; the slot is kept. Check the webhook endpoint', {
            paymentId: payment.id,
            sessionId,
            outcome: session.outcome,
          })
          result.kept++
          break
        case 'open':
          result.unchanged++
          break
      }
    } catch (err) {
      log.error('hold not reconciled; a later run retries', { paymentId: payment.id }, err)
      result.unchanged++
    }
  }
  const released: string[] = []
  for (const stray of await strays(db, now)) {
    try {
      if (stray.status === 'pending') {
        await failBeforeCheckout(db, stray.id, 'The payment page was never created.')
      }
      await hubFor(env, stray.codeId).settlePayment(stray.id, 'released')
      released.push(stray.id)
    } catch (err) {
      log.error('stray hold not released; a later run retries', { paymentId: stray.id }, err)
    }
  }
  result.checked = checked.length
  result.strays = released.length
  const asked = [...checked, ...released]
  if (asked.length) {
    await db.update(payments).set({ holdCheckedAt: now }).where(inArray(payments.id, asked))
  }
  if (keptForGood.length) {
    await db.update(payments).set({ holdKeptAt: now }).where(inArray(payments.id, keptForGood))
  }
  result.refunds = await retryStalledRefunds(env, now).catch((err) => {
    log.error('stalled refunds not read; a later run retries', {}, err)
    return result.refunds
  })
  if (result.checked || result.strays) log.info('payment holds reconciled', { ...result })
  return result
}

/** Limited codes' pending Stripe payments whose session expired a while ago, least recently asked first. */
function overdue(db: Db, now: number) {
  return db
    .select({
      id: payments.id,
      codeId: payments.codeId,
      sessionId: payments.sessionId,
      stripeAccount: payments.stripeAccount,
      slug: codes.slug,
    })
    .from(payments)
    .innerJoin(codes, eq(codes.id, payments.codeId))
    .where(
      and(
        eq(payments.status, 'pending'),
        eq(payments.provider, 'stripe'),
        isNotNull(payments.sessionId),
        lte(payments.sessionExpiresAt, now - RECONCILE_AFTER_MS),
        // Within the grace; past it only those already asked about and still unsettled (a
        // processing payment), whose slots are kept until Stripe says how they ended.
        or(
          gte(payments.sessionExpiresAt, now - HOLD_GRACE_MS.stripe),
          isNotNull(payments.holdCheckedAt),
        ),
        isNull(payments.holdKeptAt),
        isNotNull(codes.maxPayments),
      ),
    )
    .orderBy(sql`coalesce(${payments.holdCheckedAt}, 0)`, asc(payments.sessionExpiresAt))
    .limit(MAX_PER_RUN)
}

/**
 * Limited codes' payments that never got a session, not yet released here: failed before it, or
 * still `pending` a while after pay was pressed (the pay route could not record the failure).
 */
function strays(db: Db, now: number) {
  return db
    .select({ id: payments.id, codeId: payments.codeId, status: payments.status })
    .from(payments)
    .innerJoin(codes, eq(codes.id, payments.codeId))
    .where(
      and(
        or(
          eq(payments.status, 'failed'),
          and(eq(payments.status, 'pending'), lte(payments.createdAt, now - RECONCILE_AFTER_MS)),
        ),
        isNull(payments.sessionId),
        isNull(payments.holdCheckedAt),
        gte(payments.createdAt, now - HOLD_GRACE_MS.stripe),
        isNotNull(codes.maxPayments),
      ),
    )
    .limit(MAX_PER_RUN)
}
