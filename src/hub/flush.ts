/**
 * One hub flush into D1, as one `batch()` (one transaction): the raw scan rows, the hourly
 * rollups, the dimension rollups, the visitor sets, and the code's flush sequence number.
 *
 * Each part travels as one JSON parameter read with `json_each`, so a flush of any size is five
 * statements with at most four bound parameters each (D1 allows 100 per statement).
 *
 * Idempotent: the hub numbers its flushes 1, 2, 3… per code and resends the same sequence number
 * with the same content until D1 confirms it. Raw rows and visitor sets are keyed, so a resend
 * adds nothing; the counters are added only while `hub_flush_state.last_seq` is below the
 * sequence number, and the last statement raises it, in the same transaction.
 */
import { SCAN_ATTRS } from '../db/scan-attrs'
import type { ScanRow } from './aggregate'

export interface FlushBatch {
  codeId: string
  seq: number
  /** The D1 `scans` rows of this code (`scanRowsJson`). */
  scans: string
  /** JSON array of { hour, human, bot, checkout_views, pay_pressed, paid }. */
  hours: string
  /** JSON array of { hour, dimension, value, human, bot }. */
  dimensions: string
  /** JSON array of { hour, hash }. */
  visitors: string
}

const NOT_YET_APPLIED =
  'not exists (select 1 from hub_flush_state where code_id = ?1 and last_seq >= ?2)'

/**
 * The raw rows of a flush: each row `[id, merchant_id, scanned_at, [attributes in SCAN_ATTRS
 * order]]`; the code is the flush's. D1 stores the attributes' array as it is (`scans.attrs`, see
 * src/db/scan-attrs.ts for what that saves): it reads four values out of each row's JSON, not 16.
 */
export function scanRowsJson(rows: ScanRow[]): string {
  return JSON.stringify(
    rows.map((row) => [
      row.id,
      row.merchant_id,
      row.scanned_at,
      SCAN_ATTRS.map((column) => row[column]),
    ]),
  )
}

const INSERT_SCANS = `
insert into scans (id, code_id, merchant_id, scanned_at, attrs)
select value->>0, ?2, value->>1, value->>2, value->3
from json_each(?1) where true
on conflict (id) do nothing`

const ADD_HOURS = `
insert into scan_rollup_hours (code_id, hour, human, bot, checkout_views, pay_pressed, paid)
select ?1, value->>'hour', value->>'human', value->>'bot', value->>'checkout_views',
  value->>'pay_pressed', value->>'paid'
from json_each(?3) where ${NOT_YET_APPLIED}
on conflict (code_id, hour) do update set
  human = human + excluded.human,
  bot = bot + excluded.bot,
  checkout_views = checkout_views + excluded.checkout_views,
  pay_pressed = pay_pressed + excluded.pay_pressed,
  paid = paid + excluded.paid`

const ADD_DIMENSIONS = `
insert into scan_rollup_dimensions (code_id, hour, dimension, value, human, bot)
select ?1, value->>'hour', value->>'dimension', value->>'value', value->>'human', value->>'bot'
from json_each(?3) where ${NOT_YET_APPLIED}
on conflict (code_id, hour, dimension, value) do update set
  human = human + excluded.human,
  bot = bot + excluded.bot`

const ADD_VISITORS = `
insert into scan_rollup_visitors (code_id, hour, visitor_hash)
select ?1, value->>'hour', value->>'hash' from json_each(?2) where true
on conflict do nothing`

const ADVANCE = `
insert into hub_flush_state (code_id, last_seq, flushed_at) values (?1, ?2, ?3)
on conflict (code_id) do update set last_seq = excluded.last_seq, flushed_at = excluded.flushed_at
where excluded.last_seq > hub_flush_state.last_seq`

/** Sends one flush; resolves once D1 has committed it (or had already committed it before). */
export async function flushToD1(d1: D1Database, batch: FlushBatch, now = Date.now()) {
  const { codeId, seq } = batch
  await d1.batch([
    d1.prepare(INSERT_SCANS).bind(batch.scans, codeId),
    d1.prepare(ADD_HOURS).bind(codeId, seq, batch.hours),
    d1.prepare(ADD_DIMENSIONS).bind(codeId, seq, batch.dimensions),
    d1.prepare(ADD_VISITORS).bind(codeId, batch.visitors),
    d1.prepare(ADVANCE).bind(codeId, seq, now),
  ])
}
