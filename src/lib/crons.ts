/**
 * The Worker's cron triggers, as written in wrangler.toml's `[triggers] crons` (a test checks
 * they match). Each runs one job, so each job has an invocation's limits to itself.
 */
/** Raw scan retention (stats/retention.ts). */
export const RETENTION_CRON = '17 * * * *'
/** Payment holds whose webhook never came (payments/reconcile.ts). */
export const HOLDS_CRON = '47 * * * *'
/** Verified display domains, re-checked about daily (auth/domains.ts). */
export const DOMAINS_CRON = '27 * * * *'
