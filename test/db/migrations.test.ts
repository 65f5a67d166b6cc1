import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, createCode, newMerchant } from '../helpers'

/** `scans` as migrations 0000 and 0003 left it: one stored column per attribute. */
const SCANS_BEFORE_0005 = `create table scans (
  id text primary key not null, code_id text not null, merchant_id text not null,
  scanned_at integer not null, method text not null, is_bot integer not null, device text not null,
  browser text, os text, country text, region text, city text, colo text, referrer_host text,
  visitor_hash text, checkout_view integer default false not null)`

function migration(prefix: string) {
  const found = env.TEST_MIGRATIONS.find((m) => m.name.startsWith(prefix))
  if (!found) throw new Error(`no migration ${prefix}`)
  return found
}

describe('migrations that move data', () => {
  it('0005 (scan attributes in one JSON column) keeps every raw scan, each column reading what it read before', async () => {
    // The test's D1 has every migration applied: rebuild the table as it was before 0005.
    await env.DB.batch([
      env.DB.prepare('drop table scans'),
      env.DB.prepare(SCANS_BEFORE_0005),
      env.DB.prepare(
        `insert into scans values
          ('scan_a', 'cod_1', 'mer_1', 1000, 'GET', 0, 'mobile', 'Safari', 'iOS', 'DE', 'Berlin',
           'Berlin', 'TXL', 'news.example', 'h1', 1),
          ('scan_b', 'cod_1', 'mer_1', 2000, 'HEAD', 1, 'bot', null, null, null, null,
           'Val-d''Or', null, null, null, 0)`,
      ),
    ])
    const before = await env.DB.prepare('select * from scans order by id').all()

    await env.DB.batch(migration('0005').queries.map((q) => env.DB.prepare(q)))

    const after = await env.DB.prepare(`select ${Object.keys(before.results[0] ?? {}).join(', ')}
      from scans order by id`).all()
    expect(after.results).toEqual(before.results)
    expect(after.results).toHaveLength(2)
    // The stored row is the id, code, merchant, time and the attributes' array, nothing more.
    const stored = await env.DB.prepare("select attrs from scans where id = 'scan_b'").first<{
      attrs: string
    }>()
    expect(JSON.parse(stored?.attrs ?? '')).toEqual([
      'HEAD',
      1,
      'bot',
      null,
      null,
      null,
      null,
      "Val-d'Or",
      null,
      null,
      null,
      0,
    ])
    // Both indexes came back.
    const indexes = await env.DB.prepare(
      "select name from sqlite_master where type = 'index' and tbl_name = 'scans' and sql is not null order by name",
    ).all<{ name: string }>()
    expect(indexes.results.map((r) => r.name)).toEqual(['scans_code_time_idx', 'scans_time_idx'])
  })

  it('0006 clears allow_http on checkout codes, leaving redirect codes as they were', async () => {
    const { key } = await newMerchant()
    const checkout = await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    const redirect = await createCode(key, {
      action: 'redirect',
      destination_url: 'http://a.example',
      allow_http: true,
    })
    // As the API once let a PATCH leave it.
    await env.DB.prepare('update codes set allow_http = 1 where id = ?').bind(checkout.id).run()
    await env.DB.batch(migration('0006').queries.map((q) => env.DB.prepare(q)))
    const flags = await env.DB.prepare('select id, allow_http from codes where id in (?, ?)')
      .bind(checkout.id, redirect.id)
      .all<{ id: string; allow_http: number }>()
    expect(Object.fromEntries(flags.results.map((r) => [r.id, r.allow_http]))).toEqual({
      [checkout.id]: 0,
      [redirect.id]: 1,
    })
    // The checkout code can be edited again.
    const edited = await call(`/api/v1/codes/${checkout.id}`, {
      key,
      method: 'PATCH',
      json: { description: 'y' },
    })
    expect(edited.status).toBe(200)
  })
})
