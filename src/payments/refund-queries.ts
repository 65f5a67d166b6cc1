/**
 * Refunds in D1. Two rules hold the money:
 *
 * - **The reservation is the guard.** A refund row is inserted as `pending` by one statement that
 *   inserts nothing when the payment is not paid, or when its pending and succeeded refunds plus
 *   this one would exceed what was paid. D1 runs one statement at a time, so however many requests
 *   race, the refunds that get a row never add up to more than the payment; only those are sent to
 *   Stripe.
 * - **Only Stripe moves a refund, forward only.** A confirmed answer or a verified event sets a
 *   refund's status, never backwards (pending → succeeded → failed/canceled), with the event id in
 *   the same batch (the `payment_events` dedupe). The payment's `refunded_amount` and status are
 *   then recomputed from the refund rows, never incremented, so a duplicate, late or out-of-order
 *   event cannot count twice.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import {
  PAID_STATUSES,
  type Payment,
  paymentEvents,
  payments,
  type Refund,
  type RefundReason,
  type RefundStatus,
  refunds,
} from '../db/schema'
import { newId } from '../lib/ids'
import { truncate } from '../lib/text'
import { claimEvent, fromPaymentsAccount } from './event-claims'
import type { ProviderName } from './provider'

/** How far along a refund is: a status only moves to a higher rank. */
const RANK: Record<RefundStatus, number> = { pending: 0, succeeded: 1, failed: 2, canceled: 2 }

const rankOf = (column: unknown) =>
  sql`(case ${column} when 'pending' then 0 when 'succeeded' then 1 else 2 end)`

export interface RefundAsk {
  paymentId: string
  merchantId: string
  /** Minor units; null: all that remains. */
  amount: number | null
  reason: RefundReason | null
  idempotencyKey: string | null
  actor: string
  /** Give the payment's slot of a limited code back once it is fully refunded. */
  reopenSlot?: boolean
}

export type Reservation =
  | { kind: 'reserved'; refund: Refund }
  /** The same Idempotency-Key on this payment: the refund it made (the caller compares bodies). */
  | { kind: 'existing'; refund: Refund }
  | { kind: 'not_refundable' }
  | { kind: 'exceeds'; remaining: number }

/** What is still refundable: paid, less the refunds pending or succeeded. */
const remainingOf = (paymentId: string) => sql`(
  (select amount from payments where id = ${paymentId})
  - (select coalesce(sum(amount), 0) from refunds
     where payment_id = ${paymentId} and status in ('pending', 'succeeded')))`

const paidClause = (paymentId: string) =>
  sql`exists (select 1 from payments where id = ${paymentId}
    and status in ('paid', 'partially_refunded', 'refunded'))`

/**
 * Reserves `amount` (null: all that remains) of a paid payment for a new refund, in one
 * statement. Never more than what remains, also when requests race.
 */
export async function reserveRefund(db: Db, ask: RefundAsk): Promise<Reservation> {
  if (ask.idempotencyKey) {
    const existing = await refundByKey(db, ask.paymentId, ask.idempotencyKey)
    if (existing) return { kind: 'existing', refund: existing }
  }
  const id = newId('rfd')
  const now = Date.now()
  // `amount` null asks for what remains, read in the same statement.
  const amount = ask.amount === null ? remainingOf(ask.paymentId) : sql`${ask.amount}`
  const { meta } = await db.run(sql`
    insert into refunds (id, payment_id, merchant_id, amount, currency, reason, status,
      idempotency_key, actor, reopen_slot, created_at, updated_at)
    select ${id}, p.id, p.merchant_id, ${amount}, p.currency, ${ask.reason}, 'pending',
      ${ask.idempotencyKey}, ${ask.actor}, ${ask.reopenSlot ? 1 : 0}, ${now}, ${now}
    from payments p
    where p.id = ${ask.paymentId} and p.merchant_id = ${ask.merchantId}
      and ${paidClause(ask.paymentId)}
      and ${amount} > 0
      and ${amount} <= ${remainingOf(ask.paymentId)}
    on conflict do nothing`)
  if (meta.changes === 1) {
    const [refund] = await db.select().from(refunds).where(eq(refunds.id, id))
    if (refund) return { kind: 'reserved', refund }
  }
  // Nothing inserted: say why, from what D1 holds now.
  if (ask.idempotencyKey) {
    const existing = await refundByKey(db, ask.paymentId, ask.idempotencyKey)
    if (existing) return { kind: 'existing', refund: existing }
  }
  const [payment] = await db.select().from(payments).where(eq(payments.id, ask.paymentId))
  if (!payment || !(PAID_STATUSES as readonly string[]).includes(payment.status)) {
    return { kind: 'not_refundable' }
  }
  return { kind: 'exceeds', remaining: await remainingAmount(db, ask.paymentId) }
}

/**
 * Takes a refund that failed before Stripe confirmed anything (unreachable) back to `pending`
 * for a retry with the same id, under the same guard as a new one. False when it no longer fits.
 */
export async function reReserveRefund(db: Db, refund: Refund): Promise<boolean> {
  const { meta } = await db.run(sql`
    update refunds set status = 'pending', failure_reason = null, updated_at = ${Date.now()}
    where id = ${refund.id} and status = 'failed' and provider_refund_id is null
      and ${paidClause(refund.paymentId)}
      and amount <= ${remainingOf(refund.paymentId)}`)
  return meta.changes === 1
}

export async function remainingAmount(db: Db, paymentId: string): Promise<number> {
  const [row] = await db.all<{ remaining: number | null }>(
    sql`select ${remainingOf(paymentId)} as remaining`,
  )
  return Math.max(0, row?.remaining ?? 0)
}

async function refundByKey(db: Db, paymentId: string, key: string) {
  const [row] = await db
    .select()
    .from(refunds)
    .where(and(eq(refunds.paymentId, paymentId), eq(refunds.idempotencyKey, key)))
  return row
}

export async function listRefunds(db: Db, paymentId: string) {
  return db
    .select()
    .from(refunds)
    .where(eq(refunds.paymentId, paymentId))
    .orderBy(asc(refunds.createdAt), asc(refunds.id))
}

/**
 * Releases a reservation Stripe never confirmed (unreachable, or it refused): the refund is
 * `failed` with no Stripe id, so its amount is refundable again. Stripe's own word about this id,
 * should it come later, still wins (see applyRefundUpdate).
 */
export async function releaseRefund(db: Db, refundId: string, reason: string) {
  await db
    .update(refunds)
    .set({ status: 'failed', failureReason: truncate(reason, 500), updatedAt: Date.now() })
    .where(
      and(eq(refunds.id, refundId), eq(refunds.status, 'pending'), sql`provider_refund_id is null`),
    )
}

/** A refund as Stripe (or the test provider) reports it, in our words. */
export interface RefundUpdate {
  /**
   * The connected account a Stripe event came from (null: the platform's own). When given, the
   * payment must have been made on that account, or the update changes nothing.
   */
  account?: string | null
  /** The event's id (or a made-up one for a confirmed answer): applied at most once. */
  eventId: string
  provider: ProviderName
  type: string
  providerRefundId: string
  /** Our `rfd_…`, from the refund's metadata, when we made it. */
  refundId: string | null
  /** The payment intent it refunds: finds the payment of a refund made in Stripe's dashboard. */
  providerPaymentId: string | null
  amount: number
  currency: string
  status: RefundStatus
  reason: RefundReason | null
  failureReason: string | null
}

export type RefundApplyResult =
  | { payment: Payment; refund: Refund | undefined }
  | { payment: null; reason: 'unknown_payment' | 'amount_mismatch' | 'wrong_account' }

/** The payment a refund update is about, and our row for it if there is one. */
async function targetOf(db: Db, update: RefundUpdate) {
  let [refund] = update.refundId
    ? await db.select().from(refunds).where(eq(refunds.id, update.refundId))
    : []
  if (!refund) {
    ;[refund] = await db
      .select()
      .from(refunds)
      .where(eq(refunds.providerRefundId, update.providerRefundId))
  }
  if (refund) {
    const [payment] = await db.select().from(payments).where(eq(payments.id, refund.paymentId))
    return { refund, payment }
  }
  if (!update.providerPaymentId) return { refund, payment: undefined }
  const [payment] = await db
    .select()
    .from(payments)
    .where(eq(payments.providerPaymentId, update.providerPaymentId))
  return { refund, payment }
}

/**
 * Applies a refund's state from Stripe, at most once per event and forward only, then recomputes
 * the payment's refunded amount and status from its refund rows.
 */
export async function applyRefundUpdate(db: Db, update: RefundUpdate): Promise<RefundApplyResult> {
  const { refund, payment } = await targetOf(db, update)
  if (!payment) return { payment: null, reason: 'unknown_payment' }
  if (!fromPaymentsAccount(update.account, payment)) {
    return { payment: null, reason: 'wrong_account' }
  }
  // A refund is in the payment's currency; our row (if any) says how much we asked for.
  if (
    update.currency.toLowerCase() !== payment.currency ||
    (refund && refund.amount !== update.amount)
  ) {
    return { payment: null, reason: 'amount_mismatch' }
  }
  const { delivery, firstDelivery } = claimEvent(db, update.eventId)
  const now = Date.now()
  const failure = update.failureReason ? truncate(update.failureReason, 500) : null
  const change = refund
    ? db
        .update(refunds)
        .set({
          status: update.status,
          providerRefundId: update.providerRefundId,
          failureReason: failure,
          updatedAt: now,
        })
        .where(
          and(
            eq(refunds.id, refund.id),
            firstDelivery,
            // Forward only; a failure we recorded ourselves (Stripe unreachable) yields to Stripe.
            sql`(${rankOf(refunds.status)} < ${RANK[update.status]} or ${refunds.providerRefundId} is null)`,
          ),
        )
    : // Made in Stripe's dashboard (or its answer to us was lost): recorded as Stripe tells it.
      db
        .insert(refunds)
        .values({
          id: newId('rfd'),
          paymentId: payment.id,
          merchantId: payment.merchantId,
          amount: update.amount,
          currency: payment.currency,
          reason: update.reason,
          status: update.status,
          providerRefundId: update.providerRefundId,
          failureReason: failure,
          idempotencyKey: null,
          actor: 'stripe',
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing()
  await db.batch([
    db
      .insert(paymentEvents)
      .values({
        id: update.eventId,
        provider: update.provider,
        type: update.type,
        paymentId: payment.id,
        delivery,
        receivedAt: now,
      })
      .onConflictDoNothing(),
    change,
    recomputeRefunded(db, payment.id, now),
  ])
  const [after] = await db.select().from(payments).where(eq(payments.id, payment.id))
  const [row] = await db
    .select()
    .from(refunds)
    .where(
      refund ? eq(refunds.id, refund.id) : eq(refunds.providerRefundId, update.providerRefundId),
    )
  return { payment: after ?? payment, refund: row }
}

/**
 * The payment's refunded amount and status, from its succeeded refunds; and whether it gave its
 * slot back: fully refunded, and one of its succeeded refunds asked to reopen it. Should a
 * succeeded refund fail later (the payment no longer fully refunded), the slot counts again.
 */
function recomputeRefunded(db: Db, paymentId: string, now: number) {
  const succeeded = sql`(select coalesce(sum(amount), 0) from refunds
    where payment_id = ${paymentId} and status = 'succeeded')`
  const reopenAsked = sql`exists (select 1 from refunds
    where payment_id = ${paymentId} and status = 'succeeded' and reopen_slot = 1)`
  return db
    .update(payments)
    .set({
      refundedAmount: succeeded,
      slotReopenedAt: sql`case when ${succeeded} >= ${payments.amount} and ${reopenAsked}
        then coalesce(${payments.slotReopenedAt}, ${now}) else null end`,
      status: sql`case when ${succeeded} >= ${payments.amount} then 'refunded'
        when ${succeeded} > 0 then 'partially_refunded' else 'paid' end`,
      updatedAt: now,
    })
    .where(and(eq(payments.id, paymentId), inArray(payments.status, [...PAID_STATUSES])))
}

/** Remembers the payment intent a paid session made: what refunds and disputes name. */
export async function rememberProviderPayment(
  db: Db,
  paymentId: string,
  providerPaymentId: string,
) {
  await db
    .update(payments)
    .set({ providerPaymentId })
    .where(and(eq(payments.id, paymentId), sql`provider_payment_id is null`))
}
