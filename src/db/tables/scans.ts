/** Raw scans, their rollups, and the hubs' flush state. */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { SCAN_ATTRS } from '../scan-attrs'
import { timestamp } from './columns'

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
