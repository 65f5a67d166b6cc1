/**
 * Time buckets for stats in an IANA time zone, built on UTC hours (the rollups' grain).
 *
 * - An hour bucket is one UTC hour, labelled in local time. In a zone with a non-hour offset
 *   (India +05:30) it runs e.g. 05:30–06:30 local; across a DST change a local hour may repeat.
 * - A day bucket is every UTC hour that starts on or after local midnight of that date and before
 *   local midnight of the next one. Where the offset is a whole number of hours that is exactly
 *   the local day (23 or 25 hours across DST changes); elsewhere it starts at the first whole UTC
 *   hour after local midnight, e.g. 00:30 in India, 00:45 in Nepal.
 */
export const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

export type Interval = 'hour' | 'day'

export interface Bucket {
  /** Inclusive, epoch ms, on a UTC hour. */
  start: number
  /** Exclusive. */
  end: number
}

/**
 * Formatters per zone as the request spelled it. Intl accepts any letter case, so spellings are
 * unbounded: the cache forgets its oldest beyond FORMATTERS_MAX (there are ~600 zones).
 */
const formatters = new Map<string, Intl.DateTimeFormat>()
const FORMATTERS_MAX = 200

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    if (formatters.size >= FORMATTERS_MAX)
      formatters.delete(formatters.keys().next().value as string)
    formatters.set(tz, f)
  }
  return f
}

/** Test hook: how many formatters this isolate holds. */
export const formatterCount = () => formatters.size

/** Whether the runtime knows this IANA zone name. */
export function isTimeZone(tz: string): boolean {
  if (!tz || tz.length > 64) return false
  try {
    formatter(tz)
    return true
  } catch {
    return false
  }
}

/** The zone's offset from UTC at an instant, in ms (local wall time = instant + offset). */
export function offsetAt(ms: number, tz: string): number {
  const parts: Record<string, number> = {}
  for (const p of formatter(tz).formatToParts(ms)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value)
  }
  const wall = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  )
  return wall - (ms - (((ms % 1000) + 1000) % 1000))
}

/** Days since 1970-01-01 of the local date at an instant. */
function localDay(ms: number, tz: string): number {
  return Math.floor((ms + offsetAt(ms, tz)) / DAY_MS)
}

const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS
const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS

/** The first whole UTC hour that starts on or after local midnight of `day`. */
function dayStart(day: number, tz: string): number {
  const midnightUtc = day * DAY_MS
  let h = ceilHour(midnightUtc - offsetAt(midnightUtc, tz))
  while (localDay(h, tz) < day) h += HOUR_MS
  while (localDay(h - HOUR_MS, tz) >= day) h -= HOUR_MS
  return h
}

/** The buckets covering [from, to), widened to whole buckets. */
export function bucketsFor(from: number, to: number, interval: Interval, tz: string): Bucket[] {
  const first = floorHour(from)
  const last = Math.max(ceilHour(to), first + HOUR_MS)
  const buckets: Bucket[] = []
  if (interval === 'hour') {
    for (let h = first; h < last; h += HOUR_MS) buckets.push({ start: h, end: h + HOUR_MS })
    return buckets
  }
  const lastDay = localDay(last - HOUR_MS, tz)
  let start = dayStart(localDay(first, tz), tz)
  for (let day = localDay(first, tz); day <= lastDay; day++) {
    const end = dayStart(day + 1, tz)
    buckets.push({ start, end })
    start = end
  }
  return buckets
}

/** ISO 8601 in the zone's local time with its offset, e.g. 2026-03-29T03:00:00+02:00. */
export function localIso(ms: number, tz: string): string {
  const offset = offsetAt(ms, tz)
  const wall = new Date(ms + offset).toISOString().slice(0, 19)
  const sign = offset < 0 ? '-' : '+'
  const minutes = Math.abs(Math.round(offset / 60_000))
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0')
  const mm = String(minutes % 60).padStart(2, '0')
  return `${wall}${sign}${hh}:${mm}`
}
