import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { SCAN_COLUMNS } from '../../src/hub/aggregate'
import { hubFor } from '../../src/hub/client'
import { FLUSH_DELAY_MS, FLUSH_MAX_SCANS } from '../../src/hub/limits'
import type { HubScan } from '../../src/hub/types'
import { call, createCode, flushHub, newMerchant } from '../helpers'
import { logLines } from '../logs'
import { d1Count, d1Scans, hubRows, hubScans, IPHONE, scanFor } from './fixtures'

async function newCode() {
  const { key, merchantId } = await newMerchant()
  const code = await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })
  return { ...code, merchantId, key }
}

const rollupTotals = (codeId: string) =>
  env.DB.prepare(
    'select coalesce(sum(human), 0) as human, coalesce(sum(bot), 0) as bot from scan_rollup_hours where code_id = ?',
  )
    .bind(codeId)
    .first<{ human: number; bot: number }>()

/** Makes every flush fail the way a D1 outage does, until the returned function is called. */
async function breakD1() {
  await env.DB.exec('alter table scan_rollup_hours rename to scan_rollup_hours_away')
  return () => env.DB.exec('alter table scan_rollup_hours_away rename to scan_rollup_hours')
}

describe('flushing the hub to D1', () => {
  it('arms an alarm a few seconds out when scans arrive, and flushes them all', async () => {
    const code = await newCode()
    const hub = hubFor(env, code.id)
    const before = Date.now()
    await hub.recordScans([scanFor(code), scanFor(code, { isBot: true })])
    const alarm = await runInDurableObject(hub, (_h, state) => state.storage.getAlarm())
    expect(alarm).toBeGreaterThanOrEqual(before + FLUSH_DELAY_MS - 50)
    expect(alarm).toBeLessThanOrEqual(Date.now() + FLUSH_DELAY_MS + 50)
    expect(await runDurableObjectAlarm(hub)).toBe(true)
    expect(await d1Scans(code.id)).toHaveLength(2)
    expect(await rollupTotals(code.id)).toEqual({ human: 1, bot: 1 })
    expect((await hub.counters()).unflushed).toBe(0)
  })

  it('stores every attribute of a scan in D1, read back column by column as the hub sent it', async () => {
    const code = await newCode()
    const sent = [
      scanFor(code, { visitorHash: 'a1b2c3', referrerHost: 'news.example', checkoutView: true }),
      scanFor(code, {
        method: 'HEAD',
        isBot: true,
        device: 'bot',
        browser: null,
        os: null,
        country: null,
        region: null,
        city: 'Val-d\'Or "Nord"',
        colo: null,
      }),
    ]
    const hub = hubFor(env, code.id)
    await hub.recordScans(sent)
    const stored = await hubScans(code.id)
    await runDurableObjectAlarm(hub)
    const columns = SCAN_COLUMNS.join(', ')
    const { results } = await env.DB.prepare(
      `select ${columns} from scans where code_id = ? order by id`,
    )
      .bind(code.id)
      .all()
    const expected = stored
      .map((row) => Object.fromEntries(SCAN_COLUMNS.map((c) => [c, row[c]])))
      .sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1)) // SQLite's binary order
    expect(results).toEqual(expected)
    expect(results.map((r) => [r.method, r.is_bot, r.city, r.checkout_view])).toEqual(
      expected.map((r) => [r.method, r.is_bot, r.city, r.checkout_view]),
    )
    expect(new Set(results.map((r) => r.method))).toEqual(new Set(['GET', 'HEAD']))
  })

  it('keeps scans in the hub while D1 fails, backs off, and delivers each exactly once after', async () => {
    const code = await newCode()
    const hub = hubFor(env, code.id)
    await hub.recordScans(Array.from({ length: 30 }, () => scanFor(code)))
    const restore = await breakD1()
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const delays: number[] = []
      for (let attempt = 1; attempt <= 3; attempt++) {
        const started = Date.now()
        expect(await runDurableObjectAlarm(hub)).toBe(true)
        const next = await runInDurableObject(hub, (_h, state) => state.storage.getAlarm())
        expect(next).not.toBeNull()
        delays.push((next as number) - started)
        // More scans arrive during the outage; they must not pull the retry earlier.
        await hub.recordScans([scanFor(code)])
        expect(await runInDurableObject(hub, (_h, s) => s.storage.getAlarm())).toBe(next)
      }
      // Exponential backoff with ±20% jitter: about 2 s, 4 s, 8 s.
      expect(delays[0]).toBeGreaterThan(1_500)
      expect(delays[1]).toBeGreaterThan(delays[0] as number)
      expect(delays[2]).toBeGreaterThan(delays[1] as number)
      expect(errors).toHaveBeenCalledTimes(3)
      expect(logLines(errors).map((l) => [l.event, l.codeId, l.attempt])).toEqual(
        [1, 2, 3].map((attempt) => ['hub flush failed; retrying', code.id, attempt]),
      )
      // A failed batch is one rolled-back transaction: not even the raw rows went in.
      expect(await d1Count('select count(*) as n from scans where code_id = ?', code.id)).toBe(0)
      expect((await hub.counters()).unflushed).toBe(33)
    } finally {
      errors.mockRestore()
      await restore()
    }
    await flushHub(code.id)
    expect(await d1Scans(code.id)).toHaveLength(33)
    expect(await rollupTotals(code.id)).toEqual({ human: 33, bot: 0 })
    const [meta] = await hubRows(code.id, "select value from meta where key = 'failures'")
    expect(meta?.value).toBe(0)
  })

  it('adds nothing twice when D1 committed a flush but the hub never heard back', async () => {
    const code = await newCode()
    const hub = hubFor(env, code.id)
    const scans = Array.from({ length: 12 }, (_, i) =>
      scanFor(code, { isBot: i < 2, visitorHash: `v${i}`, country: i % 2 ? 'FR' : 'DE' }),
    )
    await hub.recordScans(scans)
    await runInDurableObject(hub, (instance) => {
      instance.flushHooks.afterCommit = () => {
        throw new Error('connection reset after commit')
      }
    })
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    await runDurableObjectAlarm(hub)
    errors.mockRestore()
    expect(await d1Scans(code.id)).toHaveLength(12)
    expect((await hub.counters()).unflushed).toBe(12)

    await runInDurableObject(hub, (instance) => {
      instance.flushHooks = {}
    })
    await flushHub(code.id)
    expect(await d1Scans(code.id)).toHaveLength(12)
    expect(await rollupTotals(code.id)).toEqual({ human: 10, bot: 2 })
    expect(
      await d1Count(
        "select sum(human + bot) as n from scan_rollup_dimensions where code_id = ? and dimension = 'country'",
        code.id,
      ),
    ).toBe(12)
    expect(
      await d1Count('select count(*) as n from scan_rollup_visitors where code_id = ?', code.id),
    ).toBe(10)
    expect(
      await d1Count('select last_seq as n from hub_flush_state where code_id = ?', code.id),
    ).toBe(1)
  })

  it('loses nothing when the hub is evicted with scans buffered, or mid-outage', async () => {
    const code = await newCode()
    const hub = hubFor(env, code.id)
    await Promise.all(
      Array.from({ length: 40 }, () =>
        call(`/${code.slug}`, {
          headers: { 'user-agent': IPHONE, 'cf-connecting-ip': '192.0.2.1' },
        }),
      ),
    )
    await evictDurableObject(hub)
    expect(await hub.counters()).toMatchObject({ scans: 40, unique_visitors_today: 1 })

    const restore = await breakD1()
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    await runDurableObjectAlarm(hub)
    errors.mockRestore()
    await evictDurableObject(hub)
    await restore()
    // The evicted hub still has its alarm, and the same flush goes out again.
    expect(await runInDurableObject(hub, (_h, s) => s.storage.getAlarm())).not.toBeNull()
    await flushHub(code.id)
    expect(await d1Scans(code.id)).toHaveLength(40)
    expect(await hub.counters()).toMatchObject({ scans: 40, human: 40, unflushed: 0 })
  })

  it('splits a big backlog into flushes of at most FLUSH_MAX_SCANS, flushing at once when one is full', async () => {
    const code = await newCode()
    const hub = hubFor(env, code.id)
    const total = FLUSH_MAX_SCANS * 2 + 137
    const started = Date.now()
    for (let i = 0; i < total; i += 250) {
      await hub.recordScans(
        Array.from({ length: Math.min(250, total - i) }, (_, j) =>
          scanFor(code, { visitorHash: `h${(i + j) % 97}`, city: `City ${(i + j) % 13}` }),
        ),
      )
    }
    // A full flush does not wait for the usual delay.
    const alarm = await runInDurableObject(hub, (_h, s) => s.storage.getAlarm())
    expect(alarm).toBeLessThan(started + FLUSH_DELAY_MS)
    const perSeq = await hubRows(code.id, 'select seq, sum(n) as n from batches group by seq')
    expect(perSeq.map((r) => r.n)).toEqual([FLUSH_MAX_SCANS, FLUSH_MAX_SCANS, 137])

    expect(await runDurableObjectAlarm(hub)).toBe(true)
    expect(await d1Scans(code.id)).toHaveLength(total)
    expect(await rollupTotals(code.id)).toEqual({ human: total, bot: 0 })
    expect(
      await d1Count('select last_seq as n from hub_flush_state where code_id = ?', code.id),
    ).toBe(3)
    expect(
      await d1Count(
        "select count(*) as n from scan_rollup_dimensions where code_id = ? and dimension = 'city'",
        code.id,
      ),
    ).toBe(13)
  })

  it('drops flushed scans at once, forgets their batch after the dedupe window, and clears yesterday’s visitors', async () => {
    const code = await newCode()
    const hub = hubFor(env, code.id)
    await hub.recordScans([
      scanFor(code, { visitorHash: 'old', scannedAt: Date.now() - 2 * 86_400_000 }),
      scanFor(code, { visitorHash: 'new' }),
    ])
    expect(await hubScans(code.id)).toHaveLength(2)
    await flushHub(code.id)
    // D1 has the scans; the hub keeps the batch's id only, to recognise a re-sent batch.
    expect(await hubScans(code.id)).toHaveLength(0)
    expect(
      await hubRows(code.id, 'select n, flushed_at is not null as flushed from batches'),
    ).toEqual([{ n: 2, flushed: 1 }])
    // The pruning alarm stays set while flushed rows remain.
    expect(await runInDurableObject(hub, (_h, s) => s.storage.getAlarm())).not.toBeNull()
    await runInDurableObject(hub, (_h, state) => {
      state.storage.sql.exec('update batches set flushed_at = flushed_at - 11 * 60000')
    })
    await runDurableObjectAlarm(hub)
    expect(await hubRows(code.id, 'select id from batches')).toEqual([])
    expect(await hubRows(code.id, 'select hash from visitors')).toEqual([{ hash: 'new' }])
    expect(await runInDurableObject(hub, (_h, s) => s.storage.getAlarm())).toBeNull()
    expect(await d1Scans(code.id)).toHaveLength(2)
  })
  it('on its next start, moves the scans of a hub that stored one row per scan into batches, and flushes them', async () => {
    const code = await newCode()
    const hub = hubFor(env, code.id)
    const old = [scanFor(code), scanFor(code, { isBot: true }), scanFor(code)]
    await runInDurableObject(hub, (_instance, state) => {
      const sql = state.storage.sql
      sql.exec(`create table scans (id text primary key, seq integer not null, code_id text not null,
        merchant_id text not null, scanned_at integer not null, method text not null,
        is_bot integer not null, device text not null, browser text, os text, country text,
        region text, city text, colo text, referrer_host text, visitor_hash text,
        checkout_view integer not null, flushed_at integer)`)
      old.forEach((s, i) => {
        sql.exec(
          `insert into scans values (?, ?, ?, ?, ?, 'GET', ?, 'mobile', 'Safari', 'iOS', 'DE',
            'Berlin', 'Berlin', 'TXL', null, null, 0, ?)`,
          s.id,
          i === 0 ? 1 : 2,
          s.codeId,
          s.merchantId,
          s.scannedAt,
          s.isBot ? 1 : 0,
          i === 0 ? Date.now() : null,
        )
      })
    })
    // The next start of the object upgrades its storage.
    await evictDurableObject(hub)
    expect(
      await hubRows(
        code.id,
        "select name from sqlite_master where type = 'table' and name = 'scans'",
      ),
    ).toEqual([])
    // The flushed one stays flushed (D1 had it); the two unflushed ones form sequence 2.
    expect((await hubScans(code.id)).map((s) => [s.id, s.seq, s.is_bot])).toEqual([
      [old[1]?.id, 2, 1],
      [old[2]?.id, 2, 0],
    ])
    // A batch stored before the upgrade and re-sent after it (the Worker retries a failed call)
    // is recognised by its first scan, whether that scan was flushed or not.
    expect((await hub.recordScans([old[0] as HubScan])).stored).toBe(0)
    expect((await hub.recordScans([old[1] as HubScan, old[2] as HubScan])).stored).toBe(0)
    expect(await runDurableObjectAlarm(hub)).toBe(true)
    expect((await d1Scans(code.id)).map((s) => s.id).sort()).toEqual(
      [old[1]?.id, old[2]?.id].sort(),
    )
    expect(await rollupTotals(code.id)).toEqual({ human: 1, bot: 1 })
    expect((await hub.counters()).unflushed).toBe(0)
  })
})
