/** Merchants and how they sign in: API keys, admin sessions, one-time sign-in links. */
import { sql } from 'drizzle-orm'
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { now, timestamp } from './columns'

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
    /**
     * The scopes the key holds, space-separated (auth/scopes.ts). NULL is full access: every key
     * made before scopes existed keeps what it could do.
     */
    scopes: text('scopes'),
  },
  (t) => [
    uniqueIndex('api_keys_hash_idx').on(t.hash),
    index('api_keys_merchant_idx').on(t.merchantId, t.createdAt),
  ],
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
