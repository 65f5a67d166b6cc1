/** The one environment type every handler sees: bindings from wrangler.toml plus our secrets. */
import type { Db } from './db/client'

/** Secrets are set with `wrangler secret put` (or `.dev.vars` locally), so `wrangler types` cannot see them. */
export interface Secrets {
  /** Keys the daily salt of visitor hashes. Without it, scans are stored with no visitor hash. */
  VISITOR_HASH_SECRET?: string
  /** Signs the short-lived live-feed tokens browsers use. Without it, no tokens are issued. */
  LIVE_TOKEN_SECRET?: string
}

export type Bindings = Env & Secrets

export interface AuthedMerchant {
  merchantId: string
  apiKeyId: string
}

export interface AppEnv {
  Bindings: Bindings
  Variables: {
    db: Db
    auth: AuthedMerchant
  }
}
