/**
 * A payment's dispute, as Stripe's `charge.dispute.*` events tell it. A charge is disputed at most
 * once, so the payment keeps one dispute: its id, status, amount and when it last changed. The
 * status moves forward only (needs response → under review → won / lost / closed), with the
 * event id in the same D1 batch, so duplicate and late events change nothing. A dispute does not
 * change the payment's `status`: it was paid, and may stay so (won).
 */
import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import {
  DISPUTE_STATUSES,
  type DisputeStatus,
  type Payment,
  paymentEvents,
  payments,
} from '../db/schema'
import { claimEvent, fromPaymentsAccount } from './event-claims'
import type { ProviderName } from './provider'

/** Stripe's status in our words; an unknown one reads as needing a response. */
export function disputeStatusOf(status: string): DisputeStatus {
  return (DISPUTE_STATUSES as readonly string[]).includes(status)
    ? (status as DisputeStatus)
    : 'needs_response'
}

const STAGE: Record<DisputeStatus, number> = {
  warning_needs_response: 0,
  needs_response: 0,
  warning_under_review: 1,
  under_review: 1,
  warning_closed: 2,
  won: 2,
  lost: 2,
}

const stageOf = (column: unknown) => sql`(case ${column}
  when 'warning_needs_response' then 0 when 'needs_response' then 0
  when 'warning_under_review' then 1 when 'under_review' then 1 else 2 end)`

export interface DisputeUpdate {
  /**
   * The connected account a Stripe event came from (null: the platform's own). When given, the
   * payment must have been made on that account, or the update changes nothing.
   */
  account?: string | null
  eventId: string
  provider?: ProviderName
  type: string
  disputeId: string
  /** The payment intent disputed (or, in test mode, our payment id). */
  providerPaymentId: string | null
  paymentId?: string
  amount: number
  currency: string
  status: DisputeStatus
}

export type DisputeApplyResult =
  | { payment: Payment }
  | { payment: null; reason: 'unknown_payment' | 'amount_mismatch' | 'wrong_account' }

export async function applyDisputeUpdate(
  db: Db,
  update: DisputeUpdate,
): Promise<DisputeApplyResult> {
  const where = update.paymentId
    ? eq(payments.id, update.paymentId)
    : update.providerPaymentId
      ? eq(payments.providerPaymentId, update.providerPaymentId)
      : undefined
  const [payment] = where ? await db.select().from(payments).where(where) : []
  if (!payment) return { payment: null, reason: 'unknown_payment' }
  if (!fromPaymentsAccount(update.account, payment)) {
    return { payment: null, reason: 'wrong_account' }
  }
  if (update.currency.toLowerCase() !== payment.currency || update.amount > payment.amount) {
    return { payment: null, reason: 'amount_mismatch' }
  }
  const { delivery, firstDelivery } = claimEvent(db, update.eventId)
  const now = Date.now()
  await db.batch([
    db
      .insert(paymentEvents)
      .values({
        id: update.eventId,
        provider: update.provider ?? 'stripe',
        type: update.type,
        paymentId: payment.id,
        delivery,
        receivedAt: now,
      })
      .onConflictDoNothing(),
    db
      .update(payments)
      .set({
        disputeId: update.disputeId,
        disputeStatus: update.status,
        disputeAmount: update.amount,
        disputeUpdatedAt: now,
        updatedAt: now,
      })
      .where(
        and(
          eq(payments.id, payment.id),
          firstDelivery,
          sql`(${payments.disputeId} is null or ${payments.disputeId} <> ${update.disputeId}
            or ${stageOf(payments.disputeStatus)} <= ${STAGE[update.status]})`,
        ),
      ),
  ])
  const [after] = await db.select().from(payments).where(eq(payments.id, payment.id))
  return { payment: after ?? payment }
}
