/** The one environment type every handler sees: bindings from wrangler.toml plus our secrets. */
import type { Db } from './db/client'

/** Secrets are set with `wrangler secret put` (or `.dev.vars` locally), so `wrangler types` cannot see them. */
export interface Secrets {
  /** Keys the daily salt of visitor hashes. Without it, scans are stored with no visitor hash. */
  VISITOR_HASH_SECRET?: string
  /** Signs the admin session cookie. Without it the admin cannot sign anyone in. */
  SESSION_SECRET?: string
  /** Stripe's secret key. Without it, payments use the offline test-mode provider (never in production). */
  STRIPE_SECRET_KEY?: string
  /** Signing secret of the Stripe webhook endpoint (`whsec_…`). */
  STRIPE_WEBHOOK_SECRET?: string
  /** Platform mode: signing secret of the Connect webhook endpoint (`/webhooks/stripe/connect`). */
  STRIPE_CONNECT_WEBHOOK_SECRET?: string
  /** Only to point the Stripe SDK at a local fake or stripe-mock (tests). */
  STRIPE_API_HOST?: string
  STRIPE_API_PORT?: string
  STRIPE_API_PROTOCOL?: string
  /** Only to point display-domain checks at another DNS-over-HTTPS resolver (tests: a fake). */
  DNS_RESOLVER_URL?: string
  /** Signs the short-lived live-feed tokens browsers use. Without it, no tokens are issued. */
  LIVE_TOKEN_SECRET?: string
}

export type Bindings = Env & Secrets

export interface AuthedMerchant {
  merchantId: string
  apiKeyId: string
  /**
   * What the key may do: its scopes (auth/scopes.ts owns the list), null for full access. Plain
   * strings here, so the environment type depends on no domain module.
   */
  scopes: readonly string[] | null
}

/** A signed-in admin session. */
export interface AdminSession {
  merchantId: string
  sessionHash: string
  /** For the audit log: `admin:key_…` or `admin:link`. */
  actor: string
}

export interface AppEnv {
  Bindings: Bindings
  Variables: {
    db: Db
    /** Set by the API key middleware on /api/v1. */
    auth: AuthedMerchant
    /** Set by the admin session middleware on /admin. */
    admin: AdminSession
  }
}
