/** Factories for hub tests: scans as the Worker would build them, and views of both stores. */
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import type { ScanRow } from '../../src/hub/aggregate'
import { hubFor } from '../../src/hub/client'
import type { HubScan } from '../../src/hub/types'
import { newId } from '../../src/lib/ids'
import { replaceMethod } from '../helpers'

export { IPHONE } from '../helpers'
export const DESKTOP_CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
export const SLACKBOT = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'

export function scanFor(
  code: { id: string; merchantId: string },
  overrides: Partial<HubScan> = {},
): HubScan {
  return {
    id: newId('scan'),
    codeId: code.id,
    merchantId: code.merchantId,
    scannedAt: Date.now(),
    method: 'GET',
    isBot: false,
    device: 'mobile',
    browser: 'Safari',
    os: 'iOS',
    country: 'DE',
    region: 'Berlin',
    city: 'Berlin',
    colo: 'TXL',
    referrerHost: null,
    visitorHash: null,
    checkoutView: false,
    ...overrides,
  }
}

/** Raw scan rows in D1 for a code. */
export async function d1Scans(codeId: string) {
  const { results } = await env.DB.prepare(
    'select * from scans where code_id = ? order by scanned_at, id',
  )
    .bind(codeId)
    .all<Record<string, unknown> & { id: string; scanned_at: number }>()
  return results
}

export async function d1Count(sql: string, ...binds: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...binds)
    .first<{ n: number | null }>()
  return row?.n ?? 0
}

/** Rows in the hub's own SQLite (read inside the object). */
export async function hubRows(codeId: string, sql: string, ...binds: SqlStorageValue[]) {
  return runInDurableObject(hubFor(env, codeId), (_hub, state) =>
    state.storage.sql.exec(sql, ...binds).toArray(),
  )
}

/** The scans stored in a hub (each batch is one row of JSON), with their batch's sequence. */
export async function hubScans(codeId: string, options: { unflushed?: boolean } = {}) {
  const where = options.unflushed ? 'where b.flushed_at is null' : ''
  const rows = await hubRows(
    codeId,
    `select b.seq, b.flushed_at, j.value as scan from batches b, json_each(b.rows) j ${where}`,
  )
  return rows.map((r): ScanRow & { seq: number; flushed_at: number | null } => ({
    ...(JSON.parse(String(r.scan)) as ScanRow),
    seq: Number(r.seq),
    flushed_at: r.flushed_at as number | null,
  }))
}

/** Env whose CODE_HUB counts the stubs the Worker asks for (one per RPC attempt). */
export function countingEnv() {
  const counter = { stubs: 0 }
  const CODE_HUB = replaceMethod(env.CODE_HUB, 'get', (get) => (id, options) => {
    counter.stubs++
    return get(id, options)
  })
  return { env: { ...env, CODE_HUB } as Env, counter }
}

/** A deterministic PRNG (mulberry32), so a failing random test can be replayed from its seed. */
export function random(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  }
}
