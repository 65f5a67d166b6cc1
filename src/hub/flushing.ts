/**
 * What waits in the hub for D1, and its way there: the unflushed scans and funnel steps, grouped
 * by flush sequence, go oldest sequence first (flush.ts writes one to D1), are marked flushed
 * only once D1 has committed them, and are kept a while longer to recognise a re-sent batch.
 * These functions say what to flush and when the alarm should next run; CodeHub owns the alarm.
 */
import { log } from '../lib/log'
import { aggregate, type FunnelRow, type ScanRow } from './aggregate'
import { type FlushBatch, scanRowsJson } from './flush'
import { FLUSH_DELAY_MS } from './limits'
import { getMeta, HUB_QUERIES, openSequence, setMeta, setOpenSequence } from './storage'
import type { PendingStats } from './types'

/** Flushed scans stay this long so a re-sent batch (the Worker retries for ~2 s) is recognised. */
export const DEDUPE_WINDOW_MS = 10 * 60_000
/**
 * D1 counts every statement of a batch against the per-invocation query limit (50 on the free
 * plan): 8 flushes of 5 statements stay under it. A bigger backlog re-arms the alarm at once.
 */
export const MAX_FLUSHES_PER_ALARM = 8
const BACKOFF_BASE_MS = 2_000
const BACKOFF_MAX_MS = 5 * 60_000

/** Flush sequences with scans or funnel events D1 has not confirmed, oldest first. */
function unflushedSeqs(sql: SqlStorage): number[] {
  return sql
    .exec<{ seq: number }>(
      `select seq from batches where flushed_at is null
       union select seq from funnel where flushed_at is null order by seq`,
    )
    .toArray()
    .map((r) => r.seq)
}

/** The scans of a sequence's unflushed batches. */
function batchRows(sql: SqlStorage, seq: number): ScanRow[] {
  const rows: ScanRow[] = []
  for (const batch of sql.exec<{ rows: string }>(
    'select rows from batches where seq = ? and flushed_at is null',
    seq,
  )) {
    rows.push(...(JSON.parse(batch.rows) as ScanRow[]))
  }
  return rows
}

function funnelRows(sql: SqlStorage, seq: number): FunnelRow[] {
  return sql
    .exec<{ kind: FunnelRow['kind']; at: number }>(
      'select kind, at from funnel where seq = ? and flushed_at is null',
      seq,
    )
    .toArray()
}

/** Scans and funnel events waiting for D1. */
export function unflushedCount(sql: SqlStorage): number {
  return sql
    .exec<{ n: number }>(
      `select (select coalesce(sum(n), 0) from batches where flushed_at is null)
         + (select count(*) from funnel where flushed_at is null) as n`,
    )
    .one().n
}

/**
 * What D1 may not have yet, for the stats API: the unflushed scans and funnel events in
 * [from, to), aggregated per flush sequence and UTC hour. The caller keeps the sequences D1
 * has not applied (see stats/query.ts), so nothing is counted twice or missed.
 */
export function pendingStatsIn(sql: SqlStorage, range: { from: number; to: number }): PendingStats {
  const { from, to } = range
  const inRange = (at: number) => at >= from && at < to
  const out: PendingStats = { hours: [], dimensions: [], visitors: [] }
  for (const seq of unflushedSeqs(sql)) {
    const part = aggregate(
      seq,
      batchRows(sql, seq).filter((s) => inRange(s.scanned_at)),
      funnelRows(sql, seq).filter((f) => inRange(f.at)),
    )
    out.hours.push(...part.hours)
    out.dimensions.push(...part.dimensions)
    out.visitors.push(...part.visitors)
  }
  return out
}

/** The oldest unflushed sequence, sealed so nothing joins it while it is in flight; null: none. */
export function nextFlushSequence(sql: SqlStorage): number | null {
  const seq = unflushedSeqs(sql)[0]
  if (seq === undefined) return null
  if (seq >= openSequence(sql)) setOpenSequence(sql, seq + 1)
  return seq
}

/** The flush of a sequence, as flush.ts writes it to D1. */
export function flushOf(sql: SqlStorage, codeId: string, seq: number): FlushBatch {
  const scans = batchRows(sql, seq)
  const { hours, dimensions, visitors } = aggregate(seq, scans, funnelRows(sql, seq))
  const strip = <T extends { seq: number }>(rows: T[]) => rows.map(({ seq: _, ...rest }) => rest)
  return {
    codeId,
    seq,
    scans: scanRowsJson(scans),
    hours: JSON.stringify(strip(hours)),
    dimensions: JSON.stringify(strip(dimensions)),
    visitors: JSON.stringify(strip(visitors)),
  }
}

/** Marks a sequence flushed, once D1 has committed it. */
export function confirmFlush(sql: SqlStorage, seq: number) {
  const now = Date.now()
  // A flushed batch keeps only its id, to recognise a re-sent batch; D1 has its scans.
  sql.exec(
    "update batches set flushed_at = ?, rows = '[]' where seq = ? and flushed_at is null",
    now,
    seq,
  )
  sql.exec('update funnel set flushed_at = ? where seq = ? and flushed_at is null', now, seq)
  setMeta(sql, 'failures', 0)
}

/** Counts a failed flush, and says when to try again: backoff, with jitter. */
export function flushFailed(sql: SqlStorage, batch: FlushBatch, err: unknown): number {
  const failures = getMeta(sql, 'failures', 0) + 1
  setMeta(sql, 'failures', failures)
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1))
  log.error(
    'hub flush failed; retrying',
    { codeId: batch.codeId, seq: batch.seq, attempt: failures, retryInMs: delay },
    err,
  )
  // Jitter spreads the retries of many hubs after a D1 outage.
  return Date.now() + Math.round(delay * (0.8 + Math.random() * 0.4))
}

/** Whether the last flush failed: its retry, already scheduled, is not to be brought forward. */
export function isBackingOff(sql: SqlStorage): boolean {
  return getMeta(sql, 'failures', 0) > 0
}

/** Forgets what D1 has had for longer than DEDUPE_WINDOW_MS. */
export function pruneFlushed(sql: SqlStorage, now: number) {
  sql.exec('delete from batches where flushed_at < ?', now - DEDUPE_WINDOW_MS)
  // Flushed funnel events are in D1; the payments table keeps each payment's state, which is
  // what stops an event counting twice.
  sql.exec('delete from funnel where flushed_at < ?', now - DEDUPE_WINDOW_MS)
}

/**
 * When the alarm should next run: at once for a sealed sequence, after FLUSH_DELAY_MS for the
 * open one, else when the oldest flushed batch leaves the dedupe window; null: never.
 */
export function nextAlarmAt(sql: SqlStorage): number | null {
  const now = Date.now()
  const pending = unflushedSeqs(sql)[0]
  if (pending !== undefined && pending < openSequence(sql)) return now
  if (pending !== undefined) return now + FLUSH_DELAY_MS
  const oldest = sql.exec<{ at: number | null }>(HUB_QUERIES.oldestFlushed).one().at
  return oldest === null ? null : oldest + DEDUPE_WINDOW_MS
}
