/**
 * What follows a payment's state change, whoever reported it (Stripe's webhook or test mode): the
 * code's hub settles the payment's hold (the limit on a code is guarded there) and counts the
 * funnel, and cached copies of a code that may have sold out are dropped.
 */
import { forgetCode } from '../codes/cache'
import type { Payment } from '../db/schema'
import type { Bindings } from '../env'
import { hubFor } from '../hub/client'

/**
 * After a Stripe session closes, its hold lasts this much longer: Stripe retries a webhook for up
 * to three days, and a late `completed` for a session that was paid must still find its slot.
 * (The `expired` webhook normally releases it about 31 minutes after pay was pressed; when no
 * webhook comes, the hourly reconcile.ts asks Stripe.) Test-mode sessions have no late webhooks:
 * their hold ends with the session.
 */
export const HOLD_GRACE_MS = { stripe: 3 * 24 * 3600 * 1000, test: 0 } as const
/** A delayed method (SEPA, bank transfer, …) holds its slot until it succeeds or fails. */
export const PROCESSING_HOLD_UNTIL = Number.MAX_SAFE_INTEGER

/**
 * Runs after every applied or repeated event, so it is idempotent: a webhook that failed half-way
 * is retried by Stripe and lands here again, and the hub's settle is idempotent per payment.
 */
export async function afterPaymentEvent(
  env: Bindings,
  payment: Payment,
  slug: string,
  origin: string,
) {
  const hub = hubFor(env, payment.codeId)
  switch (payment.status) {
    case 'paid':
    // A refund does not give the slot back (the sale happened), unless the merchant asked for it
    // on a refund (refunds.reopen_slot) and the payment is fully refunded: then the code is
    // payable again (docs/architecture.md, Refunds).
    case 'partially_refunded':
    case 'refunded':
      await hub.settlePayment(payment.id, payment.slotReopenedAt === null ? 'paid' : 'reopened')
      // A paid payment can sell a limited code out: show it at once here (elsewhere within the TTL).
      await forgetCode(slug, origin)
      return
    case 'processing':
      // Keep the slot while the bank confirms; limit null extends the hold without re-checking.
      await hub.reservePayment({
        paymentId: payment.id,
        limit: null,
        holdUntil: PROCESSING_HOLD_UNTIL,
      })
      return
    case 'failed':
    case 'expired':
    case 'canceled':
      await hub.settlePayment(payment.id, 'released')
      return
    case 'pending':
      return
  }
}
