/** Payments, the provider events applied to them, and their refunds. */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { codes } from './codes'
import { timestamp } from './columns'
import { merchants } from './merchants'

export const PAYMENT_STATUSES = [
  'pending',
  'processing',
  'paid',
  'failed',
  'expired',
  'canceled',
  'partially_refunded',
  'refunded',
] as const
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number]

/**
 * The statuses of a payment that was paid: a refund does not undo the sale, so a refunded payment
 * keeps its receipt and its slot on a `max_payments` code, and counts as paid everywhere.
 */
export const PAID_STATUSES = ['paid', 'partially_refunded', 'refunded'] as const
export const isPaidStatus = (status: PaymentStatus) =>
  (PAID_STATUSES as readonly PaymentStatus[]).includes(status)

/** A dispute's status as Stripe names it (`charge.dispute.*` events). */
export const DISPUTE_STATUSES = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'won',
  'lost',
] as const
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number]

export const payments = sqliteTable(
  'payments',
  {
    id: text('id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    codeId: text('code_id')
      .notNull()
      .references(() => codes.id),
    /** The code's version when the customer pressed pay: what they saw. */
    codeVersion: integer('code_version').notNull(),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    description: text('description').notNull(),
    /**
     * Who is paid, as the customer was shown it when pressing pay: the merchant's name and its
     * verified display domain then (null: none verified). The payment's pages and receipt show
     * these, so a later rename or domain change never rewrites them (docs/trust.md). A null name:
     * not recorded (a row written by a Worker older than migration 0011), shown as the merchant is now.
     */
    merchantName: text('merchant_name'),
    merchantDomain: text('merchant_domain'),
    status: text('status', { enum: PAYMENT_STATUSES }).notNull(),
    provider: text('provider', { enum: ['stripe', 'test'] }).notNull(),
    /** The Checkout Session (or test session) id. */
    sessionId: text('session_id'),
    sessionExpiresAt: timestamp('session_expires_at'),
    /** Unguessable id of the public receipt page `/r/{receiptId}`. */
    receiptId: text('receipt_id').notNull(),
    customerEmail: text('customer_email'),
    methodBrand: text('method_brand'),
    methodLast4: text('method_last4'),
    failureReason: text('failure_reason'),
    createdAt: timestamp('created_at').notNull(),
    updatedAt: timestamp('updated_at').notNull(),
    paidAt: timestamp('paid_at'),
    /** When the hourly reconciliation (payments/reconcile.ts) last asked about this hold. */
    holdCheckedAt: timestamp('hold_checked_at'),
    /** When it found the session paid with no webhook applied, and kept the slot for good. */
    holdKeptAt: timestamp('hold_kept_at'),
    /**
     * The connected account the session was made on (platform mode), null for the deployment's
     * own account: every later Stripe call about this payment is made for this account.
     */
    stripeAccount: text('stripe_account'),
    /** Stripe's payment intent, learned from the completed session: what a refund names. */
    providerPaymentId: text('provider_payment_id'),
    /** Sum of the succeeded refunds (minor units), recomputed from `refunds`, never incremented. */
    refundedAmount: integer('refunded_amount').notNull().default(0),
    /** The latest dispute on the payment, as Stripe's `charge.dispute.*` events tell it. */
    disputeId: text('dispute_id'),
    disputeStatus: text('dispute_status', { enum: DISPUTE_STATUSES }),
    disputeAmount: integer('dispute_amount'),
    disputeUpdatedAt: timestamp('dispute_updated_at'),
    /**
     * When a fully refunded payment gave its slot back, because one of its succeeded refunds asked
     * to (`refunds.reopen_slot`): it then no longer counts toward the code's `max_payments`.
     * Recomputed with `refunded_amount`; null while the payment is not fully refunded.
     */
    slotReopenedAt: timestamp('slot_reopened_at'),
  },
  (t) => [
    uniqueIndex('payments_receipt_idx').on(t.receiptId),
    index('payments_provider_payment_idx').on(t.providerPaymentId),
    uniqueIndex('payments_session_idx').on(t.sessionId),
    index('payments_merchant_created_idx').on(t.merchantId, t.createdAt, t.id),
    index('payments_code_status_idx').on(t.codeId, t.status),
    // The hourly hold reconciliation (payments/reconcile.ts) looks for pending sessions by expiry.
    index('payments_status_expiry_idx').on(t.status, t.sessionExpiresAt),
  ],
)

/**
 * Payment events already applied, keyed by the provider's event id. Written in the same D1 batch
 * as the state change, so a duplicate delivery changes nothing.
 */
export const paymentEvents = sqliteTable('payment_events', {
  id: text('id').primaryKey(),
  provider: text('provider', { enum: ['stripe', 'test'] }).notNull(),
  type: text('type').notNull(),
  paymentId: text('payment_id'),
  /** Random per delivery: lets the state change in the same batch tell a first delivery from a repeat. */
  delivery: text('delivery').notNull(),
  receivedAt: timestamp('received_at').notNull(),
})

export const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const
export type RefundStatus = (typeof REFUND_STATUSES)[number]
export const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const
export type RefundReason = (typeof REFUND_REASONS)[number]

/**
 * Refunds of a payment. A row is written (as `pending`) before Stripe is asked, by one statement
 * that refuses it when the pending and succeeded refunds plus this one would exceed what was paid
 * (payments/refunds.ts): that reservation is the guard. Then only Stripe's answer or its events
 * move the status, forward only.
 */
export const refunds = sqliteTable(
  'refunds',
  {
    /** `rfd_…`; also the idempotency key sent to Stripe, so a retry never refunds twice. */
    id: text('id').primaryKey(),
    paymentId: text('payment_id')
      .notNull()
      .references(() => payments.id),
    merchantId: text('merchant_id').notNull(),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    reason: text('reason', { enum: REFUND_REASONS }),
    status: text('status', { enum: REFUND_STATUSES }).notNull(),
    /** Stripe's `re_…`, once Stripe answered (or an event told us of a refund made elsewhere). */
    providerRefundId: text('provider_refund_id'),
    failureReason: text('failure_reason'),
    /** The caller's `Idempotency-Key`, if any: the same key on the same payment is the same refund. */
    idempotencyKey: text('idempotency_key'),
    /** `api_key:key_…`, `admin:key_…`/`admin:link`, or `stripe` for one made in Stripe's dashboard. */
    actor: text('actor').notNull(),
    /**
     * The merchant asked that the payment's slot of a limited code be given back once the payment
     * is fully refunded (payments.slot_reopened_at); with `actor`, the audit of who reopened it.
     */
    reopenSlot: integer('reopen_slot', { mode: 'boolean' }).notNull().default(false),
    createdAt: timestamp('created_at').notNull(),
    updatedAt: timestamp('updated_at').notNull(),
  },
  (t) => [
    index('refunds_payment_idx').on(t.paymentId, t.createdAt),
    uniqueIndex('refunds_provider_idx').on(t.providerRefundId),
    uniqueIndex('refunds_idempotency_idx').on(t.paymentId, t.idempotencyKey),
  ],
)
