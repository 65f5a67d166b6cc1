/** What the deployment keeps for itself: data fixes made by migrations, API idempotency keys. */
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { now, timestamp } from './columns'

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

/**
 * One row per `Idempotency-Key` a merchant sent with an API POST (api/idempotency.ts), kept 24 h
 * (the hourly retention cron deletes older rows). The key itself is stored hashed and the answer
 * encrypted with a key derived from it, so the rows hold no readable secret (a new API key's).
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    merchantId: text('merchant_id').notNull(),
    /** Hex SHA-256 of the client's key. */
    keyHash: text('key_hash').notNull(),
    /** Hex SHA-256 of method, path and canonical body: the same key must mean the same request. */
    fingerprint: text('fingerprint').notNull(),
    /** `in_progress` while the first request runs, `done` once its answer is stored. */
    state: text('state', { enum: ['in_progress', 'done'] }).notNull(),
    /** Who holds an `in_progress` claim, so a late first request cannot overwrite a retaken one. */
    claim: text('claim').notNull(),
    status: integer('status'),
    contentType: text('content_type'),
    /** The answer's body, AES-GCM encrypted (base64 of IV + ciphertext). */
    body: text('body'),
    createdAt: timestamp('created_at').notNull(),
    /** An `in_progress` claim past this instant is abandoned (the Worker died) and can be retaken. */
    lockedUntil: timestamp('locked_until').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.merchantId, t.keyHash] }),
    index('idempotency_keys_created_at_idx').on(t.createdAt),
  ],
)
