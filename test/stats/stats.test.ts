import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { hubFor } from '../../src/hub/client'
import type { HubScan } from '../../src/hub/types'
import {
  call,
  createCode,
  flushHub,
  merchantWithCode,
  newMerchant,
  problemOf,
  statsHubUnreachable,
} from '../helpers'
import { hubScans, IPHONE, random, scanFor } from '../hub/fixtures'
import { logLine } from '../logs'

/** The fixed 2026 dates below stay inside the retention whatever the test machine's clock says. */
const keepAll = { ...env, SCAN_RETENTION_DAYS: '36500' } as Env
const HOUR = 3_600_000
const DAY = 86_400_000
const SEED = 20261124
// 16 days across the end of summer time in Europe (Oct 25) and North America (Nov 1).
const BASE = Date.UTC(2026, 9, 20)
const SPAN = 16 * DAY

interface Raw {
  id: string
  at: number
  isBot: boolean
  device: string
  browser: string | null
  country: string | null
  city: string | null
  referrer: string | null
  visitor: string | null
  checkoutView: boolean
}

interface Stats {
  from: string
  to: string
  totals: { scans: number; human: number; bot: number; unique_visitors: number | null }
  funnel: {
    human_scans: number
    checkout_views: number
    pay_pressed: number
    paid: number
    refunded: number
  }
  series: {
    start: string
    end: string
    scans: number
    human: number
    bot: number
    unique_visitors: number | null
    checkout_views: number
  }[]
  breakdowns: Record<
    string,
    { value: string | null; country?: string | null; scans: number; human: number; bot: number }[]
  >
}

const CITIES: [string | null, string | null][] = [
  ['DE', 'Berlin'],
  ['DE', 'Munich'],
  ['FR', 'Paris'],
  ['US', 'Paris'],
  ['IN', 'Mumbai'],
  ['JP', null],
  [null, null],
]

function generate(code: { id: string; merchantId: string }, n: number, seed: number) {
  const r = random(seed)
  return Array.from({ length: n }, (): HubScan => {
    const isBot = r.next() < 0.2
    const [country, city] = r.pick(CITIES)
    return scanFor(code, {
      scannedAt: BASE + r.int(SPAN),
      isBot,
      device: isBot ? 'bot' : r.pick(['mobile', 'desktop', 'tablet'] as const),
      browser: r.pick(['Safari', 'Chrome', null]),
      country,
      city,
      referrerHost: r.pick(['instagram.com', 'google.com', null, null]),
      visitorHash: isBot ? null : r.pick([...Array.from({ length: 25 }, (_, i) => `v${i}`), null]),
      checkoutView: !isBot && r.next() < 0.6,
    })
  })
}

/** Every scan that exists: raw rows in D1 plus the hub's unflushed rows (deduplicated by id). */
async function rawScans(codeId: string): Promise<Raw[]> {
  const { results } = await env.DB.prepare('select * from scans where code_id = ?')
    .bind(codeId)
    .all<Record<string, string | number | null>>()
  const inHub = await hubScans(codeId, { unflushed: true })
  const byId = new Map<string, Raw>()
  for (const row of [...results, ...inHub]) {
    byId.set(String(row.id), {
      id: String(row.id),
      at: Number(row.scanned_at),
      isBot: row.is_bot === 1,
      device: String(row.device),
      browser: row.browser === null ? null : String(row.browser),
      country: row.country === null ? null : String(row.country),
      city: row.city === null ? null : String(row.city),
      referrer: row.referrer_host === null ? null : String(row.referrer_host),
      visitor: row.visitor_hash === null ? null : String(row.visitor_hash),
      checkoutView: row.checkout_view === 1,
    })
  }
  return [...byId.values()]
}

const localDate = (ms: number, tz: string) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms)

/** What the stats must say, counted the slow way from raw rows. */
function bruteForce(rows: Raw[], stats: Stats, interval: 'hour' | 'day', tz: string) {
  const from = Date.parse(stats.from)
  const to = Date.parse(stats.to)
  const inRange = rows.filter((r) => {
    const hour = Math.floor(r.at / HOUR) * HOUR
    return hour >= from && hour < to
  })
  const keyOf = (r: Raw) => {
    const hour = Math.floor(r.at / HOUR) * HOUR
    return interval === 'hour' ? String(hour) : localDate(hour, tz)
  }
  const series = new Map<string, { human: number; bot: number; v: Set<string>; cv: number }>()
  for (const r of inRange) {
    const key = keyOf(r)
    const point = series.get(key) ?? { human: 0, bot: 0, v: new Set(), cv: 0 }
    if (r.isBot) point.bot++
    else point.human++
    if (!r.isBot && r.visitor) point.v.add(r.visitor)
    if (r.checkoutView) point.cv++
    series.set(key, point)
  }
  const humans = inRange.filter((r) => !r.isBot)
  const breakdown = (value: (r: Raw) => string | null, extra?: (r: Raw) => object) => {
    const counts = new Map<string, { value: string | null; human: number; bot: number }>()
    for (const r of inRange) {
      const v = value(r)
      const key = JSON.stringify([v, extra?.(r)])
      const entry = counts.get(key) ?? { value: v, ...extra?.(r), human: 0, bot: 0 }
      if (r.isBot) entry.bot++
      else entry.human++
      counts.set(key, entry)
    }
    return [...counts.values()]
      .map((e) => ({ ...e, scans: e.human + e.bot }))
      .sort((a, b) => b.scans - a.scans || String(a.value).localeCompare(String(b.value)))
  }
  return {
    series,
    totals: {
      scans: inRange.length,
      human: humans.length,
      bot: inRange.length - humans.length,
      unique_visitors: new Set(humans.flatMap((r) => (r.visitor ? [r.visitor] : []))).size,
    },
    funnel: {
      human_scans: humans.length,
      checkout_views: inRange.filter((r) => r.checkoutView).length,
      pay_pressed: 0,
      paid: 0,
      refunded: 0,
    },
    breakdowns: {
      country: breakdown((r) => r.country),
      city: breakdown(
        (r) => r.city,
        (r) => ({ country: r.city === null ? null : r.country }),
      ),
      device: breakdown((r) => r.device),
      browser: breakdown((r) => r.browser),
      referrer: breakdown((r) => r.referrer),
    },
  }
}

/** Breakdown order among equal counts is by value; compare as sets of entries. */
const sorted = (entries: object[]) =>
  entries
    .map((e) => JSON.stringify(Object.entries(e).sort(([a], [b]) => a.localeCompare(b))))
    .sort()

describe('GET /codes/{id}/stats equals a brute-force count over the raw rows', () => {
  let key = ''
  let code = { id: '', merchantId: '' }
  let rows: Raw[] = []

  beforeAll(async () => {
    const merchant = await newMerchant()
    key = merchant.key
    const created = await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 500,
      description: 'x',
    })
    code = { id: created.id, merchantId: merchant.merchantId }
    const hub = hubFor(env, code.id)
    // 1. Flushed to D1.
    for (const chunk of [generate(code, 400, SEED), generate(code, 300, SEED + 1)]) {
      await hub.recordScans(chunk)
    }
    await flushHub(code.id)
    // 2. Committed to D1, but the hub never heard back: in both places, must count once.
    await hub.recordScans(generate(code, 80, SEED + 2))
    await runInDurableObject(hub, (instance) => {
      instance.flushHooks.afterCommit = () => {
        throw new Error('answer lost')
      }
    })
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    await runDurableObjectAlarm(hub)
    logged.mockRestore()
    await runInDurableObject(hub, (instance) => {
      instance.flushHooks = {}
    })
    // 3. Only in the hub (same visitors and hours as above, so the unions matter).
    await hub.recordScans(generate(code, 150, SEED + 3))
    rows = await rawScans(code.id)
    expect(rows).toHaveLength(930)
    expect((await hub.counters()).unflushed).toBe(230)
  })

  const cases: [string, 'hour' | 'day', string, number, number][] = [
    ['days in UTC', 'day', 'UTC', BASE, BASE + SPAN],
    ['days in New York (DST ends)', 'day', 'America/New_York', BASE - DAY, BASE + SPAN],
    ['days in Berlin (DST ends)', 'day', 'Europe/Berlin', BASE + 2 * DAY + 5 * HOUR, BASE + SPAN],
    ['days in India (+05:30)', 'day', 'Asia/Kolkata', BASE, BASE + SPAN + DAY],
    ['days in Nepal (+05:45)', 'day', 'Asia/Kathmandu', BASE + 3 * DAY, BASE + 9 * DAY + 1],
    ['days on Lord Howe (+11:00)', 'day', 'Australia/Lord_Howe', BASE, BASE + SPAN],
    ['days on Chatham (+13:45)', 'day', 'Pacific/Chatham', BASE, BASE + SPAN],
    ['hours in UTC, unaligned', 'hour', 'UTC', BASE + 3 * DAY + 17 * 60_000, BASE + 5 * DAY + 1],
    ['hours in India', 'hour', 'Asia/Kolkata', BASE + 6 * DAY, BASE + 8 * DAY],
    ['hours in St John’s (DST ends)', 'hour', 'America/St_Johns', BASE + 11 * DAY, BASE + 14 * DAY],
  ]

  it.each(cases)('%s', async (_name, interval, tz, from, to) => {
    const query = new URLSearchParams({
      interval,
      tz,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
    })
    const response = await call(`/api/v1/codes/${code.id}/stats?${query}`, { key, env: keepAll })
    expect(response.status).toBe(200)
    const stats = (await response.json()) as Stats
    // Whole buckets covering the request.
    expect(Date.parse(stats.from)).toBeLessThanOrEqual(from)
    expect(Date.parse(stats.to)).toBeGreaterThanOrEqual(to)
    expect(Date.parse(stats.from)).toBeGreaterThan(from - (interval === 'hour' ? HOUR : DAY))

    const expected = bruteForce(rows, stats, interval, tz)
    expect(stats.totals).toEqual(expected.totals)
    expect(stats.totals.scans).toBeGreaterThan(0)
    expect(stats.funnel).toEqual(expected.funnel)
    for (const [dimension, entries] of Object.entries(expected.breakdowns)) {
      expect(sorted(stats.breakdowns[dimension] ?? []), dimension).toEqual(sorted(entries))
    }

    // Buckets are contiguous, labelled in local time, and each matches the raw rows.
    let cursor = Date.parse(stats.from)
    const seen = new Set<string>()
    for (const point of stats.series) {
      const start = Date.parse(point.start)
      expect(start).toBe(cursor)
      cursor = Date.parse(point.end)
      const key = interval === 'hour' ? String(start) : point.start.slice(0, 10)
      if (interval === 'day') expect(localDate(start, tz)).toBe(key)
      seen.add(key)
      const want = expected.series.get(key)
      expect(
        {
          human: point.human,
          bot: point.bot,
          unique: point.unique_visitors,
          cv: point.checkout_views,
        },
        `${tz} ${point.start}`,
      ).toEqual({
        human: want?.human ?? 0,
        bot: want?.bot ?? 0,
        unique: want?.v.size ?? 0,
        cv: want?.cv ?? 0,
      })
      expect(point.scans).toBe(point.human + point.bot)
    }
    expect(cursor).toBe(Date.parse(stats.to))
    for (const key of expected.series.keys()) expect(seen.has(key), key).toBe(true)
  })

  it('gives the same answer once everything is flushed', async () => {
    const query = `interval=day&tz=Asia/Kolkata&from=${new Date(BASE).toISOString()}&to=${new Date(BASE + SPAN).toISOString()}`
    const get = async () =>
      (await call(`/api/v1/codes/${code.id}/stats?${query}`, { key, env: keepAll })).json()
    const before = await get()
    await flushHub(code.id)
    const after = await get()
    expect(after).toEqual(before)
    expect(
      (
        await env.DB.prepare('select count(*) as n from scans where code_id = ?')
          .bind(code.id)
          .first()
      )?.n,
    ).toBe(930)
  })

  it('labels day buckets that start off the hour where the zone does', async () => {
    const query = `interval=day&tz=Asia/Kolkata&from=2026-10-21T00:00:00Z&to=2026-10-23T00:00:00Z`
    const stats = (await (
      await call(`/api/v1/codes/${code.id}/stats?${query}`, { key })
    ).json()) as Stats
    // Local midnight in India is 18:30 UTC; the day bucket starts at the next UTC hour, 00:30 local.
    expect(stats.series.map((p) => p.start)).toEqual([
      '2026-10-21T00:30:00+05:30',
      '2026-10-22T00:30:00+05:30',
      '2026-10-23T00:30:00+05:30',
    ])
  })
})

describe('GET /codes/{id}/stats: never behind, validated, scoped', () => {
  it('counts scans the hub has not flushed yet', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        call(`/${code.slug}`, {
          headers: { 'user-agent': IPHONE, 'cf-connecting-ip': `192.0.2.${i % 3}` },
        }),
      ),
    )
    const stats = (await (await call(`/api/v1/codes/${code.id}/stats`, { key })).json()) as Stats
    expect(stats.totals).toEqual({ scans: 7, human: 7, bot: 0, unique_visitors: 3 })
    expect(stats.series).toHaveLength(31)
    expect(stats.series.at(-1)?.human).toBe(7)
    expect(stats.breakdowns.device).toEqual([{ value: 'mobile', scans: 7, human: 7, bot: 0 }])
  })

  it.each([
    ['an unknown time zone', 'tz=Mars/Olympus', 'query.tz'],
    ['from after to', 'from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z', 'query.from'],
    ['an empty range', 'from=2026-11-01T00:00:00Z&to=2026-11-01T00:00:00Z', 'query.from'],
    [
      'more than 31 days of hours',
      'interval=hour&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:01Z',
      'query.from',
    ],
    [
      'more than 400 days of days',
      'interval=day&from=2025-01-01T00:00:00Z&to=2026-02-06T00:00:00Z',
      'query.from',
    ],
    ['an unknown interval', 'interval=week', 'query.interval'],
    ['a date without a time', 'from=2026-11-01', 'query.from'],
    [
      'a date before 2000 (years below 100 once broke local days)',
      'from=0099-12-31T00:00:00Z&to=0100-01-02T00:00:00Z',
      'query.from',
    ],
    ['an end before 2000', 'to=1999-12-31T23:59:59Z', 'query.to'],
    // Its day bucket would end in year 10000, labelled "+010000-…".
    ['an end past 9000', 'to=9999-12-31T23:59:59Z', 'query.to'],
    ['an unknown parameter', 'bucket=day', 'query'],
  ])('refuses %s with 400', async (_name, query, path) => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    const response = await call(`/api/v1/codes/${code.id}/stats?${query}`, { key })
    expect(response.status).toBe(400)
    const problem = await problemOf(response)
    expect(problem.code).toBe('validation_failed')
    expect(problem.errors?.map((e) => e.path)).toContain(path)
  })

  it('reports no unique visitors for buckets older than the retention, whose hashes are gone', async () => {
    const { key, merchantId } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })
    const now = Date.now()
    await hubFor(env, code.id).recordScans([
      scanFor({ id: code.id, merchantId }, { scannedAt: now - 12 * DAY, visitorHash: 'old' }),
      scanFor({ id: code.id, merchantId }, { scannedAt: now, visitorHash: 'new' }),
    ])
    const short = { ...env, SCAN_RETENTION_DAYS: '10' } as Env
    const from = new Date(now - 20 * DAY).toISOString()
    const stats = (await (
      await call(`/api/v1/codes/${code.id}/stats?from=${from}`, { key, env: short })
    ).json()) as Stats
    expect(stats.totals).toEqual({ scans: 2, human: 2, bot: 0, unique_visitors: null })
    const withScans = stats.series.filter((p) => p.scans > 0)
    expect(withScans.map((p) => p.unique_visitors)).toEqual([null, 1])
    const recent = new Date(now - 5 * DAY).toISOString()
    const inside = (await (
      await call(`/api/v1/codes/${code.id}/stats?from=${recent}`, { key, env: short })
    ).json()) as Stats
    expect(inside.totals.unique_visitors).toBe(1)
  })

  it('answers 503 rather than short counts when the hub holding the latest scans is unreachable', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    const down = statsHubUnreachable()
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const response = await call(`/api/v1/codes/${code.id}/stats`, {
        key,
        env: { CODE_HUB: down },
      })
      expect(response.status).toBe(503)
      expect((await problemOf(response)).code).toBe('temporarily_unavailable')
      expect(logLine(error, 'stats: hub unreachable')).toMatchObject({
        level: 'error',
        codeId: code.id,
        error: { message: 'Network connection lost.', stack: expect.any(String) },
      })
    } finally {
      error.mockRestore()
    }
  })

  it("answers 404 for another merchant's code and 401 without a key", async () => {
    const alice = await newMerchant('Alice')
    const bob = await newMerchant('Bob')
    const code = await createCode(alice.key, {
      action: 'redirect',
      destination_url: 'https://a.example',
    })
    for (const path of [`/api/v1/codes/${code.id}/stats`, `/api/v1/codes/${code.id}/scans.csv`]) {
      const cross = await call(path, { key: bob.key })
      expect(cross.status, path).toBe(404)
      expect((await problemOf(cross)).code).toBe('not_found')
      expect((await call(path)).status, path).toBe(401)
    }
  })
})
