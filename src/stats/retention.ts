/**
 * Raw scan retention: the daily cron deletes scans older than SCAN_RETENTION_DAYS in chunks
 * (short statements, so D1 keeps answering everyone else meanwhile). Rollups are kept.
 */
export const DEFAULT_RETENTION_DAYS = 400
const DAY_MS = 86_400_000

export function retentionDays(env: { SCAN_RETENTION_DAYS?: string }): number {
  const raw = env.SCAN_RETENTION_DAYS?.trim()
  if (!raw) return DEFAULT_RETENTION_DAYS
  const days = Number(raw)
  if (Number.isInteger(days) && days >= 1) return days
  console.error(
    `SCAN_RETENTION_DAYS=${raw} is not a whole number of days ≥ 1; using ${DEFAULT_RETENTION_DAYS}`,
  )
  return DEFAULT_RETENTION_DAYS
}

/** Deletes raw scans older than `cutoff` (epoch ms), `chunk` rows per statement. */
export async function deleteScansBefore(
  d1: D1Database,
  cutoff: number,
  { chunk = 1_000, maxChunks = 500 }: { chunk?: number; maxChunks?: number } = {},
): Promise<number> {
  const statement = d1.prepare(
    'delete from scans where rowid in (select rowid from scans where scanned_at < ? order by scanned_at limit ?)',
  )
  let deleted = 0
  for (let i = 0; i < maxChunks; i++) {
    const { meta } = await statement.bind(cutoff, chunk).run()
    deleted += meta.changes
    if (meta.changes < chunk) break
  }
  return deleted
}

export async function runRetention(
  env: { DB: D1Database; SCAN_RETENTION_DAYS?: string },
  controller: { scheduledTime: number },
): Promise<number> {
  const days = retentionDays(env)
  const deleted = await deleteScansBefore(env.DB, controller.scheduledTime - days * DAY_MS)
  console.log(`retention: deleted ${deleted} raw scans older than ${days} days`)
  return deleted
}
