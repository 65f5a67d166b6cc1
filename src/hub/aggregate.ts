/**
 * The hub's scans in the shape D1 stores them, and the one aggregation of them that both the D1
 * flush (rollups) and the stats API (what D1 does not have yet) use: per UTC hour, the counts, the
 * dimension counts and the distinct visitor hashes of human scans.
 */
import { SCAN_ATTRS } from '../db/scan-attrs'
import type { HubScan, PendingStats } from './types'

/** A D1 `scans` row (snake_case, 0/1 flags), as the hub stores it and the flush sends it. */
export interface ScanRow {
  id: string
  code_id: string
  merchant_id: string
  scanned_at: number
  method: 'GET' | 'HEAD'
  is_bot: 0 | 1
  device: string
  browser: string | null
  os: string | null
  country: string | null
  region: string | null
  city: string | null
  colo: string | null
  referrer_host: string | null
  visitor_hash: string | null
  checkout_view: 0 | 1
}

/** The D1 `scans` columns: the stored ones, then those read out of `attrs` (SCAN_ATTRS order). */
export const SCAN_COLUMNS = [
  'id',
  'code_id',
  'merchant_id',
  'scanned_at',
  ...SCAN_ATTRS,
] as const satisfies readonly (keyof ScanRow)[]

export function scanRow(s: HubScan): ScanRow {
  return {
    id: s.id,
    code_id: s.codeId,
    merchant_id: s.merchantId,
    scanned_at: s.scannedAt,
    method: s.method,
    is_bot: s.isBot ? 1 : 0,
    device: s.device,
    browser: s.browser,
    os: s.os,
    country: s.country,
    region: s.region,
    city: s.city,
    colo: s.colo,
    referrer_host: s.referrerHost,
    visitor_hash: s.visitorHash,
    checkout_view: s.checkoutView && !s.isBot ? 1 : 0,
  }
}

export const HOUR_MS = 3_600_000
export const hourOf = (ms: number) => ms - (ms % HOUR_MS)

export interface FunnelRow {
  kind: 'pay_pressed' | 'paid'
  at: number
}

/** Scans and funnel events of one flush sequence, rolled up per hour (`seq` on every row). */
export function aggregate(
  seq: number,
  scans: Iterable<ScanRow>,
  funnel: Iterable<FunnelRow>,
): PendingStats {
  const hours = new Map<number, PendingStats['hours'][number]>()
  const hourRow = (hour: number) => {
    let row = hours.get(hour)
    if (!row) {
      row = { seq, hour, human: 0, bot: 0, checkout_views: 0, pay_pressed: 0, paid: 0 }
      hours.set(hour, row)
    }
    return row
  }
  const dimensions = new Map<string, PendingStats['dimensions'][number]>()
  const visitors = new Map<string, PendingStats['visitors'][number]>()
  for (const s of scans) {
    const hour = hourOf(s.scanned_at)
    const human = s.is_bot ? 0 : 1
    const h = hourRow(hour)
    h.human += human
    h.bot += 1 - human
    h.checkout_views += s.checkout_view
    // '' stands for unknown; a city is qualified by its country.
    const values = [
      ['country', s.country ?? ''],
      ['city', s.city === null ? '' : `${s.country ?? ''}:${s.city}`],
      ['device', s.device],
      ['browser', s.browser ?? ''],
      ['referrer', s.referrer_host ?? ''],
    ] as const
    for (const [dimension, value] of values) {
      const key = `${hour}\u0000${dimension}\u0000${value}`
      const d = dimensions.get(key)
      if (d) {
        d.human += human
        d.bot += 1 - human
      } else dimensions.set(key, { seq, hour, dimension, value, human, bot: 1 - human })
    }
    if (human && s.visitor_hash !== null) {
      const key = `${hour}\u0000${s.visitor_hash}`
      if (!visitors.has(key)) visitors.set(key, { seq, hour, hash: s.visitor_hash })
    }
  }
  for (const f of funnel) hourRow(hourOf(f.at))[f.kind]++
  return {
    hours: [...hours.values()],
    dimensions: [...dimensions.values()],
    visitors: [...visitors.values()],
  }
}
