/**
 * Recording a code's scans in its hub: a batch from the Worker (scan/batcher.ts) is stored once,
 * as one row of its flush sequence, and counted in the same transaction. A sequence is sealed once
 * it holds FLUSH_MAX_SCANS, so a flush to D1 stays small.
 */
import { scanRow } from './aggregate'
import { countScans } from './counters'
import { FLUSH_MAX_SCANS } from './limits'
import { HUB_QUERIES, openSequence, setOpenSequence } from './storage'
import type { HubScan, LiveEvent } from './types'

/** A batch's scans to store: each once, all of them this hub's code (else it throws). */
export function scansToStore(scans: HubScan[], codeId: string): HubScan[] {
  const seen = new Set<string>()
  return scans.filter((s) => {
    if (s.codeId !== codeId) throw new Error(`scan ${s.id} is for ${s.codeId}, not ${codeId}`)
    if (seen.has(s.id)) return false
    seen.add(s.id)
    return true
  })
}

/**
 * Stores a batch, known by `key` (its first scan's id), and counts its scans; null when the
 * batch was stored before. `sealed`: this batch filled its flush sequence, to be flushed at once.
 */
export function storeBatch(
  sql: SqlStorage,
  key: string,
  scans: HubScan[],
): { sealed: boolean } | null {
  const seq = openSequence(sql)
  const inserted = sql
    .exec(
      'insert into batches (id, seq, n, rows) values (?, ?, ?, ?) on conflict (id) do nothing returning 1',
      key,
      seq,
      scans.length,
      JSON.stringify(scans.map(scanRow)),
    )
    .toArray().length
  if (!inserted) return null
  countScans(sql, scans)
  // A batch never straddles two sequences.
  const sealed = scansIn(sql, seq) >= FLUSH_MAX_SCANS
  if (sealed) setOpenSequence(sql, seq + 1)
  return { sealed }
}

/** Scans stored in the open flush sequence (whose batches are all unflushed). */
function scansIn(sql: SqlStorage, seq: number): number {
  return sql.exec<{ n: number }>(HUB_QUERIES.scansInOpenSequence, seq).one().n
}

/** A scan as the live feed shows it. */
export function liveScan(s: HubScan): LiveEvent {
  return {
    type: 'scan',
    id: s.id,
    at: new Date(s.scannedAt).toISOString(),
    country: s.country,
    city: s.city,
    device: s.device,
    browser: s.browser,
    is_bot: s.isBot,
    checkout_view: s.checkoutView && !s.isBot,
  }
}
