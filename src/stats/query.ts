/**
 * A code's stats over whole buckets, from D1's rollups plus what its hub has not flushed yet.
 *
 * Exactness: the hub numbers its flushes per code, and D1 records the last one applied
 * (`hub_flush_state.last_seq`). The hub is asked first for its unflushed rows with their flush
 * numbers; then one D1 batch (one transaction, so one consistent snapshot) reads the rollups and
 * that number. Hub rows with a number above it are not in the snapshot and are added; the others
 * were flushed in between and are already counted. Unique visitors are counted by SQL over the
 * union of D1's visitor sets and the hub's, so a visitor seen on both sides counts once.
 */
import type { Bindings } from '../env'
import { ApiError } from '../errors'
import { hubFor } from '../hub/client'
import { DIMENSIONS, type Dimension, type PendingStats } from '../hub/types'
import { log } from '../lib/log'
import { moneyStats } from './money'
import { retainedSince } from './retention'
import { type Bucket, bucketsFor, type Interval, localIso } from './tz'

export const TOP_VALUES = 50

export interface Counts {
  human: number
  bot: number
  checkout_views: number
  pay_pressed: number
  paid: number
}

export interface BreakdownEntry {
  value: string | null
  /** Cities only: the country the city is in. */
  country?: string | null
  scans: number
  human: number
  bot: number
}

export interface StatsResult {
  totals: Counts & { unique_visitors: number }
  series: (Counts & Bucket & { unique_visitors: number })[]
  breakdowns: Record<Dimension, BreakdownEntry[]>
}

const LAST_SEQ = 'coalesce((select last_seq from hub_flush_state where code_id = ?1), 0)'

/** Distinct (hour, visitor) pairs in [?2, ?3): D1's, plus the hub's not yet in this snapshot. */
const VISITORS_CTE = `v(hour, hash) as (
  select hour, visitor_hash from scan_rollup_visitors where code_id = ?1 and hour >= ?2 and hour < ?3
  union
  select value->>'hour', value->>'hash' from json_each(?4)
  where value->>'seq' > ${LAST_SEQ} and value->>'hour' >= ?2 and value->>'hour' < ?3
)`

const zero = (): Counts => ({ human: 0, bot: 0, checkout_views: 0, pay_pressed: 0, paid: 0 })

function add(into: Counts, row: Counts) {
  into.human += row.human
  into.bot += row.bot
  into.checkout_views += row.checkout_views
  into.pay_pressed += row.pay_pressed
  into.paid += row.paid
}

/** Index of the bucket holding `hour`, by binary search; -1 outside the range. */
function bucketIndex(buckets: Bucket[], hour: number): number {
  let lo = 0
  let hi = buckets.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const b = buckets[mid] as Bucket
    if (hour < b.start) hi = mid - 1
    else if (hour >= b.end) lo = mid + 1
    else return mid
  }
  return -1
}

export async function readStats(
  d1: D1Database,
  codeId: string,
  interval: Interval,
  buckets: Bucket[],
  pending: PendingStats,
): Promise<StatsResult> {
  const first = buckets[0]
  const last = buckets.at(-1)
  if (!first || !last) throw new Error('no buckets')
  const start = first.start
  const end = last.end
  const visitorsJson = JSON.stringify(pending.visitors)
  for (const b of buckets) {
    if (!Number.isSafeInteger(b.start) || !Number.isSafeInteger(b.end)) {
      throw new Error('bucket bounds must be integers')
    }
  }
  // Hour buckets are the rollups' own grain; day buckets are listed inline (integers we computed).
  const uniquesSql =
    interval === 'hour'
      ? `with ${VISITORS_CTE} select hour as start, count(*) as n from v group by hour`
      : `with b(start, stop) as (values ${buckets.map((b) => `(${b.start}, ${b.end})`).join(', ')}),
         ${VISITORS_CTE}
         select b.start as start, count(distinct v.hash) as n
         from b join v on v.hour >= b.start and v.hour < b.stop group by b.start`

  const [seqResult, hoursResult, dimsResult, uniquesResult, totalResult] = await d1.batch([
    d1.prepare(`select ${LAST_SEQ} as last_seq`).bind(codeId),
    d1
      .prepare(
        `select hour, human, bot, checkout_views, pay_pressed, paid from scan_rollup_hours
         where code_id = ?1 and hour >= ?2 and hour < ?3`,
      )
      .bind(codeId, start, end),
    d1
      .prepare(
        `select dimension, value, sum(human) as human, sum(bot) as bot from scan_rollup_dimensions
         where code_id = ?1 and hour >= ?2 and hour < ?3 group by dimension, value`,
      )
      .bind(codeId, start, end),
    d1.prepare(uniquesSql).bind(codeId, start, end, visitorsJson),
    d1
      .prepare(`with ${VISITORS_CTE} select count(distinct hash) as n from v`)
      .bind(codeId, start, end, visitorsJson),
  ])
  const lastSeq = (seqResult?.results[0] as { last_seq: number } | undefined)?.last_seq ?? 0
  const unapplied = <T extends { seq: number }>(rows: T[]) => rows.filter((r) => r.seq > lastSeq)

  const series = buckets.map((b) => ({ ...b, ...zero(), unique_visitors: 0 }))
  const totals = { ...zero(), unique_visitors: 0 }
  const hourRows = [
    ...((hoursResult?.results ?? []) as (Counts & { hour: number })[]),
    ...unapplied(pending.hours),
  ]
  for (const row of hourRows) {
    const i = bucketIndex(buckets, row.hour)
    const bucket = series[i]
    if (!bucket) continue
    add(bucket, row)
    add(totals, row)
  }
  for (const row of (uniquesResult?.results ?? []) as { start: number; n: number }[]) {
    const bucket = series[bucketIndex(buckets, row.start)]
    if (bucket) bucket.unique_visitors = row.n
  }
  totals.unique_visitors = (totalResult?.results[0] as { n: number } | undefined)?.n ?? 0

  const byDimension = new Map<string, Map<string, { human: number; bot: number }>>()
  const dimRows = [
    ...((dimsResult?.results ?? []) as {
      dimension: string
      value: string
      human: number
      bot: number
    }[]),
    ...unapplied(pending.dimensions).filter((r) => r.hour >= start && r.hour < end),
  ]
  for (const row of dimRows) {
    const values = byDimension.get(row.dimension) ?? new Map()
    byDimension.set(row.dimension, values)
    const entry = values.get(row.value) ?? { human: 0, bot: 0 }
    entry.human += row.human
    entry.bot += row.bot
    values.set(row.value, entry)
  }
  const breakdowns = Object.fromEntries(
    DIMENSIONS.map((dimension) => [
      dimension,
      [...(byDimension.get(dimension) ?? new Map()).entries()]
        .map(([value, c]) => present(dimension, value, c))
        .sort((a, b) => b.scans - a.scans || String(a.value).localeCompare(String(b.value)))
        .slice(0, TOP_VALUES),
    ]),
  ) as Record<Dimension, BreakdownEntry[]>

  return { totals, series, breakdowns }
}

function present(
  dimension: Dimension,
  raw: string,
  c: { human: number; bot: number },
): BreakdownEntry {
  const counts = { scans: c.human + c.bot, human: c.human, bot: c.bot }
  if (dimension !== 'city') return { value: raw === '' ? null : raw, ...counts }
  if (raw === '') return { value: null, country: null, ...counts }
  const colon = raw.indexOf(':')
  return { value: raw.slice(colon + 1), country: raw.slice(0, colon) || null, ...counts }
}

/**
 * A code's stats as the API shows them (and the admin draws them): the hub first, then D1, so
 * every scan is counted exactly once (see above). Unique visitors older than the retention are
 * null rather than wrong, since their visitor hashes are deleted.
 */
export async function codeStats(
  env: Bindings,
  codeId: string,
  range: { from: number; to: number; interval: Interval; tz: string },
) {
  const { interval, tz } = range
  const buckets = bucketsFor(range.from, range.to, interval, tz)
  const start = buckets[0]?.start ?? range.from
  const end = buckets.at(-1)?.end ?? range.to
  // What D1 has not got yet is only in the hub: without it the counts would be short, so no answer.
  const pending = await hubFor(env, codeId)
    .pendingStats({ from: start, to: end })
    .catch((err) => {
      log.error('stats: hub unreachable', { codeId }, err)
      throw new ApiError(
        503,
        'temporarily_unavailable',
        "The code's latest scans cannot be read right now; retry in a moment.",
      )
    })
  const [stats, money] = await Promise.all([
    readStats(env.DB, codeId, interval, buckets, pending),
    moneyStats(env.DB, codeId, { from: start, to: end }),
  ])
  const { totals } = stats
  const uniqueSince = retainedSince(env)
  return {
    object: 'code_stats' as const,
    code_id: codeId,
    interval,
    tz,
    from: localIso(start, tz),
    to: localIso(end, tz),
    totals: {
      scans: totals.human + totals.bot,
      human: totals.human,
      bot: totals.bot,
      unique_visitors: start < uniqueSince ? null : totals.unique_visitors,
    },
    funnel: {
      human_scans: totals.human,
      checkout_views: totals.checkout_views,
      pay_pressed: totals.pay_pressed,
      paid: totals.paid,
      refunded: money.refundedPayments,
    },
    amounts: money.amounts,
    series: stats.series.map((p) => ({
      start: localIso(p.start, tz),
      end: localIso(p.end, tz),
      scans: p.human + p.bot,
      human: p.human,
      bot: p.bot,
      unique_visitors: p.start < uniqueSince ? null : p.unique_visitors,
      checkout_views: p.checkout_views,
      pay_pressed: p.pay_pressed,
      paid: p.paid,
    })),
    breakdowns: stats.breakdowns,
  }
}

export type CodeStats = Awaited<ReturnType<typeof codeStats>>
