/**
 * Raw scan retention: an hourly cron deletes scans older than SCAN_RETENTION_DAYS in chunks
 * (short statements, so D1 keeps answering everyone else meanwhile), and with them the visitor
 * hashes kept for unique counts. The hourly and dimension rollups (plain counts) are kept.
 * A run issues at most 2 × MAX_CHUNKS statements (D1 allows 50 queries per invocation on the
 * free plan) and so deletes up to 40,000 rows of each; the next run carries on. The same run
 * deletes `Idempotency-Key` answers past their 24 h (api/idempotency.ts, called by the
 * entry for the same cron), in at most 5 more statements.
 */
import { log } from '../lib/log'
export const DEFAULT_RETENTION_DAYS = 400
const DAY_MS = 86_400_000

export function retentionDays(env: { SCAN_RETENTION_DAYS?: string }): number {
  const raw = env.SCAN_RETENTION_DAYS?.trim()
  if (!raw) return DEFAULT_RETENTION_DAYS
  const days = Number(raw)
  if (Number.isInteger(days) && days >= 1) return days
  log.error('SCAN_RETENTION_DAYS is not a whole number of days ≥ 1', {
    value: raw,
    usingDays: DEFAULT_RETENTION_DAYS,
  })
  return DEFAULT_RETENTION_DAYS
}

/** The oldest instant whose raw scans and visitor hashes are kept. */
export function retainedSince(env: { SCAN_RETENTION_DAYS?: string }, now = Date.now()): number {
  return now - retentionDays(env) * DAY_MS
}

const CHUNK_ROWS = 2_000
const MAX_CHUNKS = 20

interface ChunkOptions {
  chunk?: number
  maxChunks?: number
}

/** Runs a `delete … limit ?` statement until it deletes less than a chunk or `maxChunks` ran. */
export async function deleteInChunks(
  statement: D1PreparedStatement,
  cutoff: number,
  { chunk = CHUNK_ROWS, maxChunks = MAX_CHUNKS }: ChunkOptions,
): Promise<number> {
  let deleted = 0
  for (let i = 0; i < maxChunks; i++) {
    const { meta } = await statement.bind(cutoff, chunk).run()
    deleted += meta.changes
    if (meta.changes < chunk) break
  }
  return deleted
}

/** Deletes raw scans older than `cutoff` (epoch ms), `chunk` rows per statement. */
export function deleteScansBefore(d1: D1Database, cutoff: number, options: ChunkOptions = {}) {
  return deleteInChunks(
    d1.prepare(
      'delete from scans where rowid in (select rowid from scans where scanned_at < ? order by scanned_at limit ?)',
    ),
    cutoff,
    options,
  )
}

/** Deletes the visitor hashes of hours that ended before `cutoff`. */
export function deleteVisitorsBefore(d1: D1Database, cutoff: number, options: ChunkOptions = {}) {
  return deleteInChunks(
    d1.prepare(
      'delete from scan_rollup_visitors where rowid in (select rowid from scan_rollup_visitors where hour < ? - 3600000 limit ?)',
    ),
    cutoff,
    options,
  )
}

export async function runRetention(
  env: { DB: D1Database; SCAN_RETENTION_DAYS?: string },
  controller: { scheduledTime: number },
): Promise<{ scans: number; visitors: number }> {
  const cutoff = retainedSince(env, controller.scheduledTime)
  const scans = await deleteScansBefore(env.DB, cutoff)
  const visitors = await deleteVisitorsBefore(env.DB, cutoff)
  log.info('retention: old raw scans deleted', {
    scans,
    visitorHours: visitors,
    before: new Date(cutoff).toISOString(),
  })
  return { scans, visitors }
}
