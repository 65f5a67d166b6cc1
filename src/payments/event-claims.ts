/**
 * What every provider event that changes money state shares: it applies at most once, and only to
 * a payment of the account that sent it. Checkout, refund and dispute updates all go through here.
 */
import { and, eq, exists, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { type Payment, paymentEvents } from '../db/schema'
import { newId } from '../lib/ids'

/**
 * Each delivery claims the event id in `payment_events` with a token of its own, in the same D1
 * batch as the state change; the change applies only where `firstDelivery` holds (this delivery's
 * claim is the stored one). A repeat's insert is ignored, so its batch changes nothing.
 */
export function claimEvent(db: Db, eventId: string) {
  const delivery = newId('evt')
  const firstDelivery = exists(
    db
      .select({ one: sql`1` })
      .from(paymentEvents)
      .where(and(eq(paymentEvents.id, eventId), eq(paymentEvents.delivery, delivery))),
  )
  return { delivery, firstDelivery }
}

/**
 * Whether an event may change this payment: one from a connected account (`account`; null is the
 * platform's own) only changes payments made on that account. `undefined`: not a webhook's event
 * (what we asked of the payment's own account, or test mode), nothing to check.
 */
export const fromPaymentsAccount = (
  account: string | null | undefined,
  payment: Pick<Payment, 'stripeAccount'>,
) => account === undefined || account === (payment.stripeAccount ?? null)
