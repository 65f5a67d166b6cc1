/** `/codes/{id}/stats` (time series, breakdowns, funnel) and `/codes/{id}/scans.csv` (export). */
import { z } from '@hono/zod-openapi'
import { type Api, apiRoute, json, security, unavailable } from '../api/factory'
import { getCode } from '../codes/queries'
import { CodeId } from '../codes/schemas'
import { ApiError, notFound } from '../errors'
import { SCAN_COLUMNS, type ScanRow } from '../hub/aggregate'
import { csvLine } from '../lib/csv'
import { decodeCursor, encodeCursor } from '../lib/cursor'
import { codeStats } from './query'
import { type Interval, isTimeZone } from './tz'

const DAY_MS = 86_400_000
/** Widest range per request: 31 days of hours, 400 days of days. */
export const MAX_RANGE_DAYS: Record<Interval, number> = { hour: 31, day: 400 }
const DEFAULT_RANGE_MS: Record<Interval, number> = { hour: DAY_MS, day: 30 * DAY_MS }
const CSV_PAGE = 1_000
/**
 * Rows per export response: each page of CSV_PAGE is a D1 query, and D1 allows 50 per invocation
 * on the free plan. A longer export ends with a `Link: rel="next"` to its continuation.
 */
export const CSV_MAX_ROWS = 40 * CSV_PAGE

const tags = ['Stats']
const params = z.object({ id: CodeId })
/**
 * No scan is older than EARLIEST or newer than LATEST; the bounds also keep every bucket, widened
 * to whole days in any time zone, inside four-digit years (labels are ISO 8601 with 4-digit years).
 */
const EARLIEST = '2000-01-01T00:00:00Z'
const LATEST = '9000-01-01T00:00:00Z'
const Instant = z.iso
  .datetime({ offset: true, message: 'use an ISO 8601 date-time such as 2030-01-31T00:00:00Z' })
  .refine((value) => Date.parse(value) >= Date.parse(EARLIEST), `must be ${EARLIEST} or later`)
  .refine((value) => Date.parse(value) <= Date.parse(LATEST), `must be ${LATEST} or earlier`)
  .openapi({ example: '2026-11-01T00:00:00Z' })

const StatsQuery = z.strictObject({
  from: Instant.optional().openapi({
    description:
      'Start (inclusive), widened to the start of its bucket. Default: `to` minus 1 day (hour) or 30 days (day).',
  }),
  to: Instant.optional().openapi({
    description: 'End (exclusive), widened to the end of its bucket. Default: now.',
  }),
  interval: z.enum(['hour', 'day']).default('day'),
  tz: z.string().max(64).default('UTC').openapi({
    example: 'Europe/Berlin',
    description:
      'IANA time zone name (`Europe/Berlin`, `UTC`) for bucket boundaries and labels; a name the runtime does not know is refused (400).',
  }),
})

const Funnel = z.object({
  human_scans: z.number().int(),
  checkout_views: z.number().int(),
  pay_pressed: z.number().int(),
  paid: z.number().int(),
  refunded: z.number().int().openapi({
    description:
      'Of the payments paid in the range, those with at least one succeeded refund (so far).',
  }),
})

const Amount = z.object({
  currency: z.string().openapi({ example: 'eur' }),
  paid: z
    .number()
    .int()
    .openapi({ description: 'Minor units paid by the payments paid in the range.' }),
  refunded: z.number().int().openapi({
    description: 'Minor units refunded of those payments so far (succeeded refunds only).',
  }),
})

const Point = z.object({
  start: z.string().openapi({ example: '2026-11-24T00:00:00+01:00' }),
  end: z.string(),
  scans: z.number().int(),
  human: z.number().int(),
  bot: z.number().int(),
  unique_visitors: z.number().int().nullable().openapi({
    description: 'null for buckets older than the raw-scan retention (visitor hashes expire).',
  }),
  checkout_views: z.number().int(),
  pay_pressed: z.number().int(),
  paid: z.number().int(),
})

const Entry = z.object({
  value: z.string().nullable().openapi({ description: 'null: unknown (or no referrer).' }),
  country: z.string().nullable().optional().openapi({ description: 'Cities only.' }),
  scans: z.number().int(),
  human: z.number().int(),
  bot: z.number().int(),
})

const CodeStats = z
  .object({
    object: z.literal('code_stats'),
    code_id: z.string(),
    interval: z.enum(['hour', 'day']),
    tz: z.string(),
    from: z.string().openapi({ description: 'The effective start: the first bucket’s start.' }),
    to: z.string().openapi({ description: 'The effective end: the last bucket’s end.' }),
    totals: z.object({
      scans: z.number().int(),
      human: z.number().int(),
      bot: z.number().int(),
      unique_visitors: z.number().int().nullable().openapi({
        description:
          'Distinct visitor hashes of human scans. Hashes rotate daily at 00:00 UTC, so over several days this counts visitor-days. null when the range reaches back past the raw-scan retention, since visitor hashes expire with the raw scans.',
      }),
    }),
    funnel: Funnel.openapi({
      description:
        'Human scans → checkout pages shown → pay pressed (a payment reserved) → paid, in the range; then how many of the payments paid in the range were refunded (in part or in full).',
    }),
    amounts: z.array(Amount).openapi({
      description:
        'Per currency (never added across currencies), what the payments paid in the range took and how much of it has been refunded, in minor units. Empty when none was paid.',
    }),
    series: z.array(Point),
    breakdowns: z.object({
      country: z.array(Entry),
      city: z.array(Entry),
      device: z.array(Entry),
      browser: z.array(Entry),
      referrer: z.array(Entry),
    }),
  })
  .openapi('CodeStats')

const statsRoute = apiRoute({
  method: 'get',
  path: '/codes/{id}/stats',
  operationId: 'getStats',
  tags,
  security,
  scope: 'stats:read',
  summary:
    "A code's scans over time, by country, city, device, browser and referrer, and its funnel",
  description:
    'Answered from hourly rollups plus the scans the code’s hub has not flushed to the database yet, so the numbers are never behind. Breakdowns list the top 50 values by scans. Hour buckets are UTC hours labelled in `tz`; a day bucket is the UTC hours starting on or after local midnight (in zones with a non-hour offset it starts at the next whole UTC hour, e.g. 00:30 in India).',
  request: { params, query: StatsQuery },
  responses: { 200: json(CodeStats, 'The stats.'), 503: unavailable },
})

const csvRoute = apiRoute({
  method: 'get',
  path: '/codes/{id}/scans.csv',
  operationId: 'exportScans',
  tags,
  security,
  scope: 'stats:read',
  summary: "Export a code's raw scans as CSV, oldest first",
  description:
    'Raw scans as kept by the retention policy, once flushed from the code’s hub (within seconds). Never includes visitor hashes.',
  request: {
    params,
    query: z.strictObject({
      from: Instant.optional().openapi({ description: 'Inclusive. Default: everything kept.' }),
      to: Instant.optional().openapi({ description: 'Exclusive. Default: now.' }),
      cursor: z.string().max(200).optional().openapi({
        description: 'Continues an export from the `Link: rel="next"` of the previous response.',
      }),
    }),
  },
  responses: {
    200: {
      description: `CSV with a header row: at most ${CSV_MAX_ROWS} rows. When more are in the range, the \`Link\` header has the continuation (\`rel="next"\`).`,
      headers: z.object({
        link: z
          .string()
          .optional()
          .openapi({ description: 'The next part of the export, if any.' }),
      }),
      content: { 'text/csv': { schema: z.string() } },
    },
  },
})

function invalid(path: string, message: string): never {
  throw new ApiError(400, 'validation_failed', `${path}: ${message}`, [{ path, message }])
}

/** The export leaves out the code and merchant (the request names them) and the visitor hash. */
const NOT_EXPORTED = ['code_id', 'merchant_id', 'visitor_hash'] as const
type CsvColumn = Exclude<(typeof SCAN_COLUMNS)[number], (typeof NOT_EXPORTED)[number]>
const CSV_COLUMNS = SCAN_COLUMNS.filter(
  (c): c is CsvColumn => !(NOT_EXPORTED as readonly string[]).includes(c),
)

/** A D1 scan row as the export reads it: the stored row without the code, merchant and hash. */
type CsvRow = Pick<ScanRow, CsvColumn>

export function registerStatsRoutes(api: Api) {
  api.openapi(statsRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const q = c.req.valid('query')
    if (!isTimeZone(q.tz)) invalid('query.tz', `"${q.tz}" is not an IANA time zone`)
    const to = q.to ? Date.parse(q.to) : Date.now()
    const from = q.from ? Date.parse(q.from) : to - DEFAULT_RANGE_MS[q.interval]
    if (from >= to) invalid('query.from', 'must be before to')
    const maxDays = MAX_RANGE_DAYS[q.interval]
    if (to - from > maxDays * DAY_MS) {
      invalid('query.from', `the range is at most ${maxDays} days for interval=${q.interval}`)
    }

    return c.json(
      await codeStats(c.env, code.id, { from, to, interval: q.interval, tz: q.tz }),
      200,
    )
  })

  api.openapi(csvRoute, async (c) => {
    const code = await getCode(c.var.db, c.var.auth.merchantId, c.req.valid('param').id)
    if (!code) throw notFound('code')
    const q = c.req.valid('query')
    const from = q.from ? Date.parse(q.from) : 0
    const to = q.to ? Date.parse(q.to) : Date.now() + 1
    if (from >= to) invalid('query.from', 'must be before to')

    const start = decodeCursor(q.cursor) ?? { at: from - 1, id: '' }

    const d1 = c.env.DB
    const RANGE = `code_id = ?1 and scanned_at >= ?2 and scanned_at < ?3
         and (scanned_at > ?4 or (scanned_at = ?4 and id > ?5))`
    // The last row this response carries, when the range holds more than CSV_MAX_ROWS.
    const [last, beyond] = (
      await d1
        .prepare(
          `select scanned_at, id from scans where ${RANGE} order by scanned_at, id limit 2 offset ?6`,
        )
        .bind(code.id, from, to, start.at, start.id, CSV_MAX_ROWS - 1)
        .all<{ scanned_at: number; id: string }>()
    ).results
    const end = beyond && last ? { at: last.scanned_at, id: last.id } : undefined
    // Up to and including `end` (a scan flushed meanwhile may add a row before it: never skipped).
    const until = end ?? { at: to, id: '' }
    const page = d1.prepare(
      `select ${CSV_COLUMNS.join(', ')} from scans where ${RANGE}
         and (scanned_at < ?6 or (scanned_at = ?6 and id <= ?7))
       order by scanned_at, id limit ?8`,
    )
    const encoder = new TextEncoder()
    let after = start
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(csvLine([...CSV_COLUMNS])))
      },
      async pull(controller) {
        const { results } = await page
          .bind(code.id, from, to, after.at, after.id, until.at, until.id, CSV_PAGE)
          .all<CsvRow>()
        let text = ''
        for (const r of results) {
          text += csvLine([
            r.id,
            new Date(r.scanned_at).toISOString(),
            r.method,
            r.is_bot === 1,
            r.device,
            r.browser,
            r.os,
            r.country,
            r.region,
            r.city,
            r.colo,
            r.referrer_host,
            r.checkout_view === 1,
          ])
        }
        if (text) controller.enqueue(encoder.encode(text))
        const lastRow = results.at(-1)
        if (!lastRow || results.length < CSV_PAGE) controller.close()
        else after = { at: lastRow.scanned_at, id: lastRow.id }
      },
    })
    const headers: Record<string, string> = {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="scans-${code.slug}.csv"`,
      'cache-control': 'no-store',
    }
    if (end) {
      const next = new URLSearchParams({
        ...(q.from ? { from: q.from } : {}),
        to: new Date(to).toISOString(),
        cursor: encodeCursor(end),
      })
      headers.link = `<${new URL(c.req.url).pathname}?${next}>; rel="next"`
    }
    return c.body(body, 200, headers)
  })
}
