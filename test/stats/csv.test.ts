import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { csvCell } from '../../src/lib/csv'
import { CSV_MAX_ROWS } from '../../src/stats/routes'
import { call, createCode, flushHub, newMerchant, PLAIN_SCAN_ATTRS, problemOf } from '../helpers'
import { IPHONE, SLACKBOT } from '../hub/fixtures'

async function newCode() {
  const { key, merchantId } = await newMerchant()
  const code = await createCode(key, { action: 'redirect', destination_url: 'https://a.example' })
  return { key, merchantId, code }
}

/** Parses the RFC 4180 subset we write (quoted cells, doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(cell)
      cell = ''
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += ch
  }
  return rows
}

describe('GET /codes/{id}/scans.csv', () => {
  it('exports every flushed scan, oldest first, without visitor hashes', async () => {
    const { key, code } = await newCode()
    await call(`/${code.slug}`, {
      headers: {
        'user-agent': IPHONE,
        'cf-connecting-ip': '203.0.113.1',
        referer: 'https://news.example/a',
      },
      cf: { country: 'DE', city: 'Köln, "Altstadt"' },
    })
    await call(`/${code.slug}`, { headers: { 'user-agent': SLACKBOT } })
    await flushHub(code.id)
    const response = await call(`/api/v1/codes/${code.id}/scans.csv`, { key })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="scans-${code.slug}.csv"`,
    )
    const text = await response.text()
    expect(text).not.toMatch(/visitor/)
    const [header, first, second, ...rest] = parseCsv(text)
    expect(rest).toHaveLength(0)
    expect(header).toEqual([
      'id',
      'scanned_at',
      'method',
      'is_bot',
      'device',
      'browser',
      'os',
      'country',
      'region',
      'city',
      'colo',
      'referrer_host',
      'checkout_view',
    ])
    const record = Object.fromEntries((header ?? []).map((h, i) => [h, first?.[i]]))
    expect(record).toMatchObject({
      method: 'GET',
      is_bot: 'false',
      device: 'mobile',
      country: 'DE',
      city: 'Köln, "Altstadt"',
      referrer_host: 'news.example',
      checkout_view: 'false',
    })
    expect(Date.parse(record.scanned_at ?? '')).toBeLessThanOrEqual(Date.parse(second?.[1] ?? ''))
    expect(second?.[3]).toBe('true')
  })

  it('defuses cells a spreadsheet would run as formulas', async () => {
    const { key, code } = await newCode()
    await call(`/${code.slug}`, {
      headers: { 'user-agent': IPHONE },
      cf: { city: '=HYPERLINK("https://evil.example","click")', region: '+1-2', country: '@X' },
    })
    await flushHub(code.id)
    const text = await (await call(`/api/v1/codes/${code.id}/scans.csv`, { key })).text()
    const [header, row] = parseCsv(text)
    const record = Object.fromEntries((header ?? []).map((h, i) => [h, row?.[i]]))
    expect(record.city).toBe(`'=HYPERLINK("https://evil.example","click")`)
    expect(record.region).toBe("'+1-2")
    expect(record.country).toBe("'@X")
    expect(csvCell('-3')).toBe("'-3")
    expect(csvCell(-3)).toBe('-3')
    expect(csvCell('a\nb')).toBe('"a\nb"')
  })

  it('pages through thousands of rows and honours from/to', async () => {
    const { key, merchantId, code } = await newCode()
    const base = Date.UTC(2026, 10, 1)
    const total = 2_345
    const statement = env.DB.prepare(
      'insert into scans (id, code_id, merchant_id, scanned_at, attrs) values (?, ?, ?, ?, ?)',
    )
    const inserts = Array.from({ length: total }, (_, i) =>
      // Several rows share a timestamp, so the cursor must order by id too.
      statement.bind(
        `scan_${String(i).padStart(6, '0')}`,
        code.id,
        merchantId,
        base + Math.floor(i / 3) * 1000,
        PLAIN_SCAN_ATTRS,
      ),
    )
    for (let i = 0; i < inserts.length; i += 500) await env.DB.batch(inserts.slice(i, i + 500))

    const all = parseCsv(await (await call(`/api/v1/codes/${code.id}/scans.csv`, { key })).text())
    const ids = all.slice(1).map((r) => r[0])
    expect(ids).toHaveLength(total)
    expect(new Set(ids).size).toBe(total)
    expect(ids).toEqual([...ids].sort())

    const from = new Date(base + 100_000).toISOString()
    const to = new Date(base + 200_000).toISOString()
    const some = parseCsv(
      await (
        await call(`/api/v1/codes/${code.id}/scans.csv?from=${from}&to=${to}`, { key })
      ).text(),
    )
    expect(some).toHaveLength(1 + 300)
    const bad = await call(`/api/v1/codes/${code.id}/scans.csv?from=${to}&to=${from}`, { key })
    expect(bad.status).toBe(400)
    const ancient = await call(`/api/v1/codes/${code.id}/scans.csv?from=0050-01-01T00:00:00Z`, {
      key,
    })
    expect(ancient.status).toBe(400)
    expect((await problemOf(ancient)).errors?.map((e) => e.path)).toEqual(['query.from'])
  })

  it('ends a long export after its row cap with a link to the rest, which continues exactly there', async () => {
    const { key, merchantId, code } = await newCode()
    const total = CSV_MAX_ROWS + 1_234
    const base = Date.UTC(2026, 10, 1)
    // Five rows a second: the cut falls inside a shared timestamp, so the cursor needs the id too.
    await env.DB.prepare(
      `insert into scans (id, code_id, merchant_id, scanned_at, attrs)
       with recursive n(i) as (select 0 union all select i + 1 from n where i + 1 < ?4)
       select 'scan_' || printf('%07d', i), ?1, ?2, ?3 + (i / 5) * 1000, ?5 from n`,
    )
      .bind(code.id, merchantId, base, total, PLAIN_SCAN_ATTRS)
      .run()
    const first = await call(`/api/v1/codes/${code.id}/scans.csv`, { key })
    expect(first.status).toBe(200)
    const head = parseCsv(await first.text()).slice(1)
    expect(head).toHaveLength(CSV_MAX_ROWS)
    const link = /^<([^>]+)>; rel="next"$/.exec(first.headers.get('link') ?? '')?.[1]
    expect(link).toMatch(/^\/api\/v1\/codes\/code_\w+\/scans\.csv\?/)
    const rest = await call(link ?? '', { key })
    expect(rest.headers.get('link')).toBeNull()
    const tail = parseCsv(await rest.text()).slice(1)
    expect(tail).toHaveLength(total - CSV_MAX_ROWS)
    const ids = [...head, ...tail].map((r) => r[0])
    expect(new Set(ids).size).toBe(total)
    expect(ids).toEqual([...ids].sort())

    const forged = await call(`/api/v1/codes/${code.id}/scans.csv?cursor=nope`, { key })
    expect(forged.status).toBe(400)
    expect((await problemOf(forged)).errors?.map((e) => e.path)).toEqual(['query.cursor'])
  })
})
