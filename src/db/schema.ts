/**
 * The system of record, in D1: every table, from one module per area under `tables/`. drizzle-kit
 * reads this file and turns it into the SQL migrations under `migrations/`, which wrangler applies.
 */
export * from './tables/codes'
export * from './tables/merchants'
export * from './tables/operations'
export * from './tables/payments'
export * from './tables/scans'

import type { codes } from './tables/codes'
import type { apiKeys, merchants } from './tables/merchants'
import type { payments, refunds } from './tables/payments'
import type { scans } from './tables/scans'

export type Merchant = typeof merchants.$inferSelect
export type ApiKey = typeof apiKeys.$inferSelect
export type Code = typeof codes.$inferSelect
export type NewCode = typeof codes.$inferInsert
export type Payment = typeof payments.$inferSelect
export type Refund = typeof refunds.$inferSelect
export type Scan = typeof scans.$inferSelect
export type NewScan = typeof scans.$inferInsert
