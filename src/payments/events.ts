/**
 * A provider's verified event, from its arrival to its payment's hub: applied to D1 at most once
 * (`applyPaymentEvent`), then followed through (`afterPaymentEvent`). Stripe's webhook and the
 * test-mode checkout take this one path, so a test-mode payment settles exactly as a real one.
 */
import type { Payment } from '../db/schema'
import { log } from '../lib/log'
import type { PaymentContext } from './context'
import { afterPaymentEvent } from './effects'
import { type ApplyResult, applyPaymentEvent, findPayment, type ProviderEvent } from './queries'

export type ReceivedEvent =
  /** Not this payment's (unknown, another session, another amount): nothing changed. */
  | { kind: 'ignored'; reason: Extract<ApplyResult, { payment: null }>['reason'] }
  | { kind: 'settled'; payment: Payment }
  /** Stored in D1 but not yet in the hub: the sender must try again, and the repeat settles it. */
  | { kind: 'unsettled'; payment: Payment }

export async function receivePaymentEvent(
  ctx: PaymentContext,
  event: ProviderEvent,
): Promise<ReceivedEvent> {
  const result = await applyPaymentEvent(ctx.db, event)
  if (!result.payment) return { kind: 'ignored', reason: result.reason }
  // A repeated event lands here too: what follows is idempotent, and may have failed last time.
  const settled = await settleInHub(ctx, result.payment.id)
  return { kind: settled ? 'settled' : 'unsettled', payment: result.payment }
}

/**
 * Brings the payment's hub (its slot, its counters) and the cached copies of its code in line with
 * the payment's state in D1 now. False when that failed (logged): D1 stays right, and settling
 * again later is harmless (each step is idempotent).
 */
export async function settleInHub(ctx: PaymentContext, paymentId: string): Promise<boolean> {
  const view = await findPayment(ctx.db, { id: paymentId })
  if (!view) return true
  return afterPaymentEvent(ctx.env, view.payment, view.slug, ctx.origin).then(
    () => true,
    (err) => {
      log.error('payment settled in D1 but not in its hub yet', { paymentId }, err)
      return false
    },
  )
}
