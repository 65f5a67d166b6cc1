/**
 * What follows a payment's state change, whoever reported it (Stripe's webhook or test mode): the
 * code's hub settles the payment's hold (the limit on a code is guarded there) and counts the
 * funnel, and cached copies of a code that may have sold out are dropped.
 */
import type { Payment } from '../db/schema'
import type { Bindings } from '../env'
import { hubFor } from '../hub/client'
import { forgetCode } from '../scan/resolve'

/** After Stripe's session closes, a hold lasts this much longer in case its webhook is late. */
export const HOLD_GRACE_MS = 60 * 60 * 1000
/** Delayed methods (SEPA debit, …) can take days to confirm: their hold is kept that long. */
export const PROCESSING_HOLD_MS = 14 * 24 * 3600 * 1000

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
      await hub.settlePayment(payment.id, 'paid')
      // A paid payment can sell a limited code out: show it at once here (elsewhere within the TTL).
      await forgetCode(slug, origin)
      return
    case 'processing':
      // Keep the slot while the bank confirms; limit null extends the hold without re-checking.
      await hub.reservePayment({
        paymentId: payment.id,
        limit: null,
        holdUntil: Date.now() + PROCESSING_HOLD_MS,
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
