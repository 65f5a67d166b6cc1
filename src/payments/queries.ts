/**
 * Payments in D1, and the one function that changes a payment's state from a provider event:
 * the event id and the state change are written in one D1 batch (one transaction), so duplicate,
 * retried, concurrent or out-of-order deliveries never change a result twice or backwards.
 */
import { and, desc, eq, gte, inArray, isNull, lte, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { readByIdGroups } from '../db/id-groups'
import {
  codes,
  isPaidStatus,
  merchants,
  PAID_STATUSES,
  type Payment,
  type PaymentStatus,
  paymentEvents,
  payments,
  verifiedDomain,
} from '../db/schema'
import { after as afterCursor, type Cursor } from '../lib/cursor'
import { truncate } from '../lib/text'
import { claimEvent, fromPaymentsAccount } from './event-claims'
import type { PaymentMethod, ProviderName } from './provider'

export type Outcome = 'processing' | 'paid' | 'failed' | 'expired' | 'canceled'

/** Which states each outcome may leave from; anything else is a repeat or arrived too late. */
const ALLOWED_FROM: Record<Outcome, PaymentStatus[]> = {
  processing: ['pending'],
  paid: ['pending', 'processing'],
  failed: ['pending', 'processing'],
  expired: ['pending'],
  canceled: ['pending'],
}

export async function insertPayment(db: Db, payment: Payment) {
  await db.insert(payments).values(payment)
}

export async function attachSession(
  db: Db,
  paymentId: string,
  sessionId: string,
  expiresAt: number,
) {
  await db
    .update(payments)
    .set({ sessionId, sessionExpiresAt: expiresAt, updatedAt: Date.now() })
    .where(eq(payments.id, paymentId))
}

/**
 * Whom the payment's pages show as paid: the merchant as it was when the payment was created; the
 * merchant now only for a row that does not say (written by a Worker older than migration 0011).
 */
const notRecorded = sql`${payments.merchantName} is null`
const payeeName = sql<string>`case when ${notRecorded} then ${merchants.name} else ${payments.merchantName} end`
const payeeDomain = sql<
  string | null
>`case when ${notRecorded} then ${verifiedDomain} else ${payments.merchantDomain} end`

/** A payment with what its pages need: the code's slug and who is paid (see above). */
export async function findPayment(db: Db, where: { id: string } | { receiptId: string }) {
  const [row] = await db
    .select({
      payment: payments,
      slug: codes.slug,
      merchantName: payeeName,
      merchantDomain: payeeDomain,
      reference: codes.reference,
    })
    .from(payments)
    .innerJoin(codes, eq(codes.id, payments.codeId))
    .innerJoin(merchants, eq(merchants.id, payments.merchantId))
    .where('id' in where ? eq(payments.id, where.id) : eq(payments.receiptId, where.receiptId))
  return row
}

export type PaymentView = NonNullable<Awaited<ReturnType<typeof findPayment>>>

/** The shapes of the ids we issue (`newId`): a link with anything else costs no query. */
const PAYMENT_ID = /^pay_[0-9A-Za-z]{22}$/
const RECEIPT_ID = /^rcpt_[0-9A-Za-z]{22}$/

/**
 * The payment a public link or the customer's cookie names; with a slug, only if it is that
 * code's (a link under another code's slug names nothing).
 */
export async function findLinkedPayment(db: Db, id: string, slug?: string) {
  if (!PAYMENT_ID.test(id)) return undefined
  const view = await findPayment(db, { id })
  return view && (slug === undefined || view.slug === slug) ? view : undefined
}

/** The payment a receipt link names: there is a receipt only once it is paid. */
export async function findReceipt(db: Db, receiptId: string) {
  if (!RECEIPT_ID.test(receiptId)) return undefined
  const view = await findPayment(db, { receiptId })
  return view && isPaidStatus(view.payment.status) ? view : undefined
}

export interface ProviderEvent {
  id: string
  provider: ProviderName
  type: string
  paymentId: string
  sessionId: string
  outcome: Outcome
  amount: number | null
  currency: string | null
  email: string | null
  method: PaymentMethod | null
  /**
   * The Stripe account a webhook event came from (`event.account`; null: the platform's own).
   * Set by both webhooks, it must be the account the payment was made on. Unset for what we
   * asked ourselves of the payment's own account (the holds job) and for test mode.
   */
  account?: string | null
}

export type ApplyResult =
  | { applied: boolean; payment: Payment }
  | {
      applied: false
      payment: null
      reason: 'unknown_payment' | 'session_mismatch' | 'account_mismatch' | 'amount_mismatch'
    }

/** Applies a verified provider event to its payment, at most once. */
export async function applyPaymentEvent(db: Db, event: ProviderEvent): Promise<ApplyResult> {
  const [current] = await db.select().from(payments).where(eq(payments.id, event.paymentId))
  if (!current) return { applied: false, payment: null, reason: 'unknown_payment' }
  if (current.sessionId !== event.sessionId) {
    return { applied: false, payment: null, reason: 'session_mismatch' }
  }
  // Another account's event (a connected account's about the platform's payment, or the reverse).
  if (!fromPaymentsAccount(event.account, current)) {
    return { applied: false, payment: null, reason: 'account_mismatch' }
  }
  // What was charged must be what the payment asked for; Stripe always says what it charged.
  const charged = event.amount !== null || event.currency !== null || event.provider === 'stripe'
  if (
    event.outcome === 'paid' &&
    charged &&
    (event.amount !== current.amount || event.currency?.toLowerCase() !== current.currency)
  ) {
    return { applied: false, payment: null, reason: 'amount_mismatch' }
  }

  const { delivery, firstDelivery } = claimEvent(db, event.id)
  const now = Date.now()
  await db.batch([
    db
      .insert(paymentEvents)
      .values({
        id: event.id,
        provider: event.provider,
        type: event.type,
        paymentId: event.paymentId,
        delivery,
        receivedAt: now,
      })
      .onConflictDoNothing(),
    db
      .update(payments)
      .set({
        status: event.outcome,
        updatedAt: now,
        ...(event.outcome === 'paid' ? { paidAt: now } : {}),
        ...(event.email ? { customerEmail: event.email } : {}),
        ...(event.method
          ? { methodBrand: event.method.brand, methodLast4: event.method.last4 }
          : {}),
        ...(event.outcome === 'failed'
          ? { failureReason: 'The payment was declined or failed.' }
          : {}),
      })
      .where(
        and(
          eq(payments.id, event.paymentId),
          inArray(payments.status, ALLOWED_FROM[event.outcome]),
          firstDelivery,
        ),
      ),
  ])
  const [after] = await db.select().from(payments).where(eq(payments.id, event.paymentId))
  const payment = after ?? current
  return { applied: payment.status !== current.status, payment }
}

/** Fills in card details learned after fulfilment (display only; never changes state). */
export async function setPaymentMethod(db: Db, paymentId: string, method: PaymentMethod) {
  await db
    .update(payments)
    .set({ methodBrand: method.brand, methodLast4: method.last4 })
    .where(eq(payments.id, paymentId))
}

/** Marks a payment whose checkout could not be created; only from pending. */
export async function failBeforeCheckout(db: Db, paymentId: string, reason: string) {
  await db
    .update(payments)
    .set({ status: 'failed', failureReason: truncate(reason, 500), updatedAt: Date.now() })
    .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
}

/** Deletes a payment refused before it was opened: still `pending`, no session. */
export async function discardUnopened(db: Db, paymentId: string) {
  await db
    .delete(payments)
    .where(
      and(eq(payments.id, paymentId), eq(payments.status, 'pending'), isNull(payments.sessionId)),
    )
}

export async function listPayments(
  db: Db,
  merchantId: string,
  filter: {
    codeId?: string
    status?: PaymentStatus
    from?: number
    to?: number
    limit: number
    after?: Cursor
  },
) {
  const { after } = filter
  return db
    .select()
    .from(payments)
    .where(
      and(
        eq(payments.merchantId, merchantId),
        filter.codeId ? eq(payments.codeId, filter.codeId) : undefined,
        filter.status ? eq(payments.status, filter.status) : undefined,
        filter.from !== undefined ? gte(payments.createdAt, filter.from) : undefined,
        filter.to !== undefined ? lte(payments.createdAt, filter.to) : undefined,
        afterCursor(payments.createdAt, payments.id, after),
      ),
    )
    .orderBy(desc(payments.createdAt), desc(payments.id))
    .limit(filter.limit + 1)
}

export async function getPayment(db: Db, merchantId: string, id: string) {
  const [row] = await db
    .select()
    .from(payments)
    .where(and(eq(payments.id, id), eq(payments.merchantId, merchantId)))
  return row
}

/** Payments paid since `since` (epoch ms), per code, for many codes at once; codes with none are absent. */
export async function paidCountsByCode(db: Db, codeIds: string[], since: number) {
  const rows = await readByIdGroups(codeIds, (ids) =>
    db
      .select({ codeId: payments.codeId, n: sql<number>`count(*)` })
      .from(payments)
      .where(
        and(
          inArray(payments.codeId, ids),
          gte(payments.paidAt, since),
          inArray(payments.status, [...PAID_STATUSES]),
        ),
      )
      .groupBy(payments.codeId),
  )
  return new Map(rows.map((r) => [r.codeId, r.n]))
}
