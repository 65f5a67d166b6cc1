/** Codes, and the audit log of every change to one. */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { now, timestamp } from './columns'
import { merchants } from './merchants'

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
