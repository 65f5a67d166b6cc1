/**
 * The system of record, in D1. One file so a reader sees every table at once; drizzle-kit turns it
 * into the SQL migrations under `migrations/`, which wrangler applies.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/** Milliseconds since the epoch; every timestamp column uses it. */
const timestamp = (name: string) => integer(name, { mode: 'number' })
const now = sql`(cast(unixepoch('subsecond') * 1000 as integer))`

export const merchants = sqliteTable('merchants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** Shown on checkout pages so customers can spot a pasted-over sticker. */
  displayDomain: text('display_domain'),
  createdAt: timestamp('created_at').notNull().default(now),
})

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

export const scans = sqliteTable(
  'scans',
  {
    /** Unique per scan, so a retried insert adds nothing. */
    id: text('id').primaryKey(),
    codeId: text('code_id').notNull(),
    merchantId: text('merchant_id').notNull(),
    scannedAt: timestamp('scanned_at').notNull(),
    method: text('method', { enum: ['GET', 'HEAD'] }).notNull(),
    /** Bots, link previews and HEAD requests: kept out of human counts. */
    isBot: integer('is_bot', { mode: 'boolean' }).notNull(),
    device: text('device', {
      enum: ['mobile', 'tablet', 'desktop', 'tv', 'bot', 'unknown'],
    }).notNull(),
    browser: text('browser'),
    os: text('os'),
    country: text('country'),
    region: text('region'),
    city: text('city'),
    colo: text('colo'),
    referrerHost: text('referrer_host'),
    /** Hash of IP and user agent with a salt that rotates daily; never a raw IP. */
    visitorHash: text('visitor_hash'),
    /** A person was shown the checkout page (an active checkout code): the funnel's 2nd step. */
    checkoutView: integer('checkout_view', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [
    index('scans_code_time_idx').on(t.codeId, t.scannedAt, t.id),
    // Retention deletes the oldest rows across all codes in chunks.
    index('scans_time_idx').on(t.scannedAt),
  ],
)

export type Merchant = typeof merchants.$inferSelect
export type ApiKey = typeof apiKeys.$inferSelect
export type Code = typeof codes.$inferSelect
export type NewCode = typeof codes.$inferInsert
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
