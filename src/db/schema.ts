/**
 * The system of record, in D1. One file so a reader sees every table at once; drizzle-kit turns it
 * into the SQL migrations under `migrations/`, which wrangler applies.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { SCAN_ATTRS } from './scan-attrs'

/** Milliseconds since the epoch; every timestamp column uses it. */
const timestamp = (name: string) => integer(name, { mode: 'number' })
const now = sql`(cast(unixepoch('subsecond') * 1000 as integer))`

export const merchants = sqliteTable(
  'merchants',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** Shown on checkout pages, once verified, so customers can spot a pasted-over sticker. */
    displayDomain: text('display_domain'),
    /** The TXT value that proves control of `displayDomain` (new for each domain set). */
    domainToken: text('domain_token'),
    /** When the TXT record was found; null until then, and again whenever the domain changes. */
    domainVerifiedAt: timestamp('domain_verified_at'),
    /** The last look at a verified domain's TXT record (auth/domains.ts re-checks it daily). */
    domainCheckedAt: timestamp('domain_checked_at'),
    /** Since when a verified domain's TXT record has been missing; null while it is found. */
    domainMissingSince: timestamp('domain_missing_since'),
    createdAt: timestamp('created_at').notNull().default(now),
    /**
     * Platform mode (money/payment-mode.ts): the merchant's connected Stripe account, made once by
     * "Connect with Stripe", and its state as Stripe last told us (the return page or
     * `account.updated`); `stripeAccountUpdatedAt` is when that was, so an older event never wins.
     */
    stripeAccountId: text('stripe_account_id'),
    stripeChargesEnabled: integer('stripe_charges_enabled', { mode: 'boolean' })
      .notNull()
      .default(false),
    stripePayoutsEnabled: integer('stripe_payouts_enabled', { mode: 'boolean' })
      .notNull()
      .default(false),
    stripeDetailsSubmitted: integer('stripe_details_submitted', { mode: 'boolean' })
      .notNull()
      .default(false),
    /** Stripe's `requirements.currently_due`: what the merchant must still provide. */
    stripeRequirementsDue: text('stripe_requirements_due', { mode: 'json' })
      .$type<string[]>()
      .notNull()
      .default(sql`'[]'`),
    stripeDisabledReason: text('stripe_disabled_reason'),
    stripeAccountUpdatedAt: timestamp('stripe_account_updated_at'),
  },
  (t) => [uniqueIndex('merchants_stripe_account_idx').on(t.stripeAccountId)],
)

/** What customers are shown of a merchant's domain: the display domain once verified, else null. */
export const verifiedDomain = sql<
  string | null
>`case when ${merchants.domainVerifiedAt} is not null then ${merchants.displayDomain} end`

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    name: text('name').notNull(),
    /** SHA-256 of the whole key, hex. The key itself is shown once and never stored. */
    hash: text('hash').notNull(),
    last4: text('last4').notNull(),
    createdAt: timestamp('created_at').notNull().default(now),
    lastUsedAt: timestamp('last_used_at'),
    revokedAt: timestamp('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_keys_hash_idx').on(t.hash),
    index('api_keys_merchant_idx').on(t.merchantId, t.createdAt),
  ],
)

export const codes = sqliteTable(
  'codes',
  {
    id: text('id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    /** Lower-case; what follows the host in the short URL. Never changes once created. */
    slug: text('slug').notNull(),
    mode: text('mode', { enum: ['dynamic', 'static'] }).notNull(),
    action: text('action', { enum: ['redirect', 'checkout'] }).notNull(),
    status: text('status', { enum: ['active', 'paused', 'archived'] }).notNull(),
    /** Redirect codes: where a scan goes. */
    destinationUrl: text('destination_url'),
    /** Redirect codes: the merchant opted in to a plain-http destination. */
    allowHttp: integer('allow_http', { mode: 'boolean' }).notNull().default(false),
    /** Checkout codes: ISO 4217, lower-case as Stripe writes it. */
    currency: text('currency'),
    /** Checkout codes, fixed amount, in the currency's minor unit. */
    amount: integer('amount'),
    /** Checkout codes, open amount: bounds in minor units. */
    amountMin: integer('amount_min'),
    amountMax: integer('amount_max'),
    description: text('description'),
    expiresAt: timestamp('expires_at'),
    /** Checkout codes: at most this many paid payments (1 = single use); null = unlimited. */
    maxPayments: integer('max_payments'),
    /** JSON object of string values, bounded like Stripe's metadata. */
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    /** The integrator's own id for this code. */
    reference: text('reference'),
    /** Bumped on every change; cache entries and ETags key on it. */
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at').notNull().default(now),
    updatedAt: timestamp('updated_at').notNull().default(now),
  },
  (t) => [
    uniqueIndex('codes_slug_idx').on(t.slug),
    index('codes_merchant_created_idx').on(t.merchantId, t.createdAt, t.id),
  ],
)

/** A column read out of `attrs` when a query asks for it, never stored. */
const attr = (name: (typeof SCAN_ATTRS)[number]) => sql.raw(`attrs->>${SCAN_ATTRS.indexOf(name)}`)
const virtual = { mode: 'virtual' } as const

export const scans = sqliteTable(
  'scans',
  {
    /** Unique per scan, so a retried insert adds nothing. */
    id: text('id').primaryKey(),
    codeId: text('code_id').notNull(),
    merchantId: text('merchant_id').notNull(),
    scannedAt: timestamp('scanned_at').notNull(),
    /** JSON array of the columns below, in SCAN_ATTRS order. */
    attrs: text('attrs').notNull(),
    method: text('method', { enum: ['GET', 'HEAD'] })
      .notNull()
      .generatedAlwaysAs(attr('method'), virtual),
    /** Bots, link previews and HEAD requests: kept out of human counts. */
    isBot: integer('is_bot', { mode: 'boolean' })
      .notNull()
      .generatedAlwaysAs(attr('is_bot'), virtual),
    device: text('device', { enum: ['mobile', 'tablet', 'desktop', 'tv', 'bot', 'unknown'] })
      .notNull()
      .generatedAlwaysAs(attr('device'), virtual),
    browser: text('browser').generatedAlwaysAs(attr('browser'), virtual),
    os: text('os').generatedAlwaysAs(attr('os'), virtual),
    country: text('country').generatedAlwaysAs(attr('country'), virtual),
    region: text('region').generatedAlwaysAs(attr('region'), virtual),
    city: text('city').generatedAlwaysAs(attr('city'), virtual),
    colo: text('colo').generatedAlwaysAs(attr('colo'), virtual),
    referrerHost: text('referrer_host').generatedAlwaysAs(attr('referrer_host'), virtual),
    /** Hash of IP and user agent with a salt that rotates daily; never a raw IP. */
    visitorHash: text('visitor_hash').generatedAlwaysAs(attr('visitor_hash'), virtual),
    /** A person was shown the checkout page (an active checkout code): the funnel's 2nd step. */
    checkoutView: integer('checkout_view', { mode: 'boolean' })
      .notNull()
      .generatedAlwaysAs(attr('checkout_view'), virtual),
  },
  (t) => [
    index('scans_code_time_idx').on(t.codeId, t.scannedAt, t.id),
    // Retention deletes the oldest rows across all codes in chunks.
    index('scans_time_idx').on(t.scannedAt),
  ],
)

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

/**
 * Who changed what on a code, and when: every change of destination, amount or status is kept,
 * so a merchant can see when a printed code started pointing somewhere else.
 */
export const codeChanges = sqliteTable(
  'code_changes',
  {
    id: text('id').primaryKey(),
    codeId: text('code_id')
      .notNull()
      .references(() => codes.id),
    merchantId: text('merchant_id').notNull(),
    /** `api_key:key_…` or `admin:key_…` (the key the admin session signed in with) or `admin:link`. */
    actor: text('actor').notNull(),
    field: text('field').notNull(),
    oldValue: text('old_value'),
    newValue: text('new_value'),
    /** The code's version after the change. */
    version: integer('version').notNull(),
    changedAt: timestamp('changed_at').notNull(),
  },
  (t) => [index('code_changes_code_idx').on(t.codeId, t.changedAt)],
)

/** Admin sessions: the cookie holds the id, D1 holds its hash, so sign-out and revocation end it. */
export const adminSessions = sqliteTable(
  'admin_sessions',
  {
    /** SHA-256 of the session secret in the cookie. */
    hash: text('hash').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    /**
     * The key used to sign in; revoking it ends the session. Null for a one-time sign-in link:
     * such a session ends only by signing out, "sign out everywhere", idling or its expiry.
     */
    apiKeyId: text('api_key_id'),
    createdAt: timestamp('created_at').notNull(),
    /** The 7-day cap (SESSION_TTL_MS), whatever the use. */
    expiresAt: timestamp('expires_at').notNull(),
    /**
     * Its last request, written at most every SESSION_TOUCH_EVERY_MS; idle for SESSION_IDLE_MS
     * after it, the session ends. Null only on rows older than the column (0010 fills them).
     */
    lastUsedAt: timestamp('last_used_at'),
    /** Browser and system it signed in from ("Firefox on Linux"), never the raw User-Agent. */
    client: text('client'),
    endedAt: timestamp('ended_at'),
  },
  (t) => [index('admin_sessions_merchant_idx').on(t.merchantId)],
)

/** One-time sign-in links printed by `npm run merchant:create`. */
export const signInTokens = sqliteTable('sign_in_tokens', {
  hash: text('hash').primaryKey(),
  merchantId: text('merchant_id')
    .notNull()
    .references(() => merchants.id),
  expiresAt: timestamp('expires_at').notNull(),
  usedAt: timestamp('used_at'),
})

export type Merchant = typeof merchants.$inferSelect
export type ApiKey = typeof apiKeys.$inferSelect
export type Code = typeof codes.$inferSelect
export type NewCode = typeof codes.$inferInsert
export type Payment = typeof payments.$inferSelect
export type Refund = typeof refunds.$inferSelect
export type Scan = typeof scans.$inferSelect
export type NewScan = typeof scans.$inferInsert

// ---------------------------------------------------------------------------------------------
// Rollups, written by the code hubs (src/hub/flush.ts) in the same D1 batch as the raw scans.
// They are kept when raw scans expire. Hours are UTC hour starts in epoch ms.

/** Per code and UTC hour: scans and the checkout funnel. */
export const scanRollupHours = sqliteTable(
  'scan_rollup_hours',
  {
    codeId: text('code_id').notNull(),
    hour: timestamp('hour').notNull(),
    human: integer('human').notNull().default(0),
    bot: integer('bot').notNull().default(0),
    checkoutViews: integer('checkout_views').notNull().default(0),
    payPressed: integer('pay_pressed').notNull().default(0),
    paid: integer('paid').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.codeId, t.hour] })],
)

/** Per code, UTC hour, dimension and value: scans. The value '' stands for unknown. */
export const scanRollupDimensions = sqliteTable(
  'scan_rollup_dimensions',
  {
    codeId: text('code_id').notNull(),
    hour: timestamp('hour').notNull(),
    dimension: text('dimension', {
      enum: ['country', 'city', 'device', 'browser', 'referrer'],
    }).notNull(),
    /** Cities are `{country}:{city}`, since a city name alone is ambiguous. */
    value: text('value').notNull(),
    human: integer('human').notNull().default(0),
    bot: integer('bot').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.codeId, t.hour, t.dimension, t.value] })],
)

/**
 * The distinct visitor hashes of human scans per code and UTC hour, so unique visitors can be
 * counted exactly over any set of hours (a local day, a range) without reading raw scans.
 * Hashes are pseudonymous data: they expire with the raw scans (retention), unlike the counts.
 */
export const scanRollupVisitors = sqliteTable(
  'scan_rollup_visitors',
  {
    codeId: text('code_id').notNull(),
    hour: timestamp('hour').notNull(),
    visitorHash: text('visitor_hash').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.codeId, t.hour, t.visitorHash] }),
    index('scan_rollup_visitors_hour_idx').on(t.hour),
  ],
)

/** The last flush sequence number each code's hub has applied: makes flushes idempotent. */
export const hubFlushState = sqliteTable('hub_flush_state', {
  codeId: text('code_id').primaryKey(),
  lastSeq: integer('last_seq').notNull(),
  flushedAt: timestamp('flushed_at').notNull(),
})

/**
 * One row per one-off data fix a migration made, with how many rows it changed: wrangler prints
 * no counts when it applies migrations, so such a migration records its own here.
 */
export const maintenanceLog = sqliteTable('maintenance_log', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  /** The migration that made the fix, e.g. `0009_customer_text_cleanup`. */
  task: text('task').notNull(),
  /** What it changed: `merchants.name`. */
  target: text('target').notNull(),
  rows: integer('rows').notNull(),
  at: timestamp('at').notNull().default(now),
})
