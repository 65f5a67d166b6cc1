import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { nameProblem } from '../../src/auth/merchant-name'
import { createApiKey, createMerchant } from '../../src/auth/queries'
import { createDb } from '../../src/db/client'
import { customerTextProblem } from '../../src/lib/text-rules'
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

  describe('0009 (customer text cleanup)', () => {
    /** The imitation of issue 21: an old row, saved before the rules. */
    const IMITATION = 'Café Luna (demo) ✅ \u202Eelpmaxe.anulefac\u202C'
    /** What the migration lists: direction controls, zero-width and control characters. */
    const BIDI = [0x61c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e]
    BIDI.push(0x2066, 0x2067, 0x2068, 0x2069)
    const ZERO_WIDTH = [0x200b, 0x200c, 0x200d, 0x2060, 0xfeff]
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i)
    const CONTROLS = [...range(1, 31), 0x7f, ...range(0x80, 0x9f)]
    const MARKS = [0x2713, 0x2714, 0x2705, 0x2611, 0x221a, 0x1f5f8, 0x1f5f9, 0x10102]
    MARKS.push(0x1f6e1, 0x1f512, 0x1f510, 0x1f50f, 0x1f3c5, 0x1f396, 0x1f3f5, 0x1f4db)

    /** 0009's statements but the table it creates (the test's D1 has every migration applied). */
    async function cleanUp() {
      const queries = migration('0009').queries.filter((q) => !/create table/i.test(q))
      await env.DB.batch(queries.map((q) => env.DB.prepare(q)))
    }

    async function logAfter(id: number) {
      const { results } = await env.DB.prepare(
        'select task, target, rows from maintenance_log where id > ? order by id',
      )
        .bind(id)
        .all<{ task: string; target: string; rows: number }>()
      return results
    }

    const lastLogId = async () =>
      (await env.DB.prepare('select max(id) as id from maintenance_log').first<{ id: number }>())
        ?.id ?? 0

    const nameOf = async (id: string) =>
      (
        await env.DB.prepare('select name from merchants where id = ?').bind(id).first<{
          name: string
        }>()
      )?.name

    it('cleans old names, descriptions and references, records how many rows, and changes nothing run again', async () => {
      const db = createDb(env.DB)
      const imitation = await createMerchant(db, { name: IMITATION })
      const clean = await createMerchant(db, { name: 'Café Luna (demo) ☕️' })
      const { key, merchantId } = await newMerchant()
      const code = await createCode(key, {
        action: 'checkout',
        currency: 'eur',
        amount: 450,
        description: 'Flat white',
      })
      const other = await createCode(key, {
        action: 'checkout',
        currency: 'eur',
        amount: 450,
        description: 'Tea\nlarge',
        reference: 'T-1',
      })
      // As the API stored them before the rules.
      const description = 'Flat \u202Ewhite\u202C\n\tlarge\u200B\u0007\r'
      await env.DB.prepare('update codes set description = ?, reference = ? where id = ?')
        .bind(description, 'ref\u2066-1\u2069', code.id)
        .run()
      await env.DB.prepare(
        `insert into payments (id, merchant_id, code_id, code_version, amount, currency, description,
           status, provider, receipt_id, created_at, updated_at)
         values ('pay_0009', ?, ?, 1, 450, 'eur', ?, 'paid', 'test', 'rcpt_0009', 1, 1)`,
      )
        .bind(merchantId, code.id, description)
        .run()
      const before = await lastLogId()

      await cleanUp()

      expect(await nameOf(imitation)).toBe('Café Luna (demo)  elpmaxe.anulefac')
      expect(await nameOf(clean)).toBe('Café Luna (demo) ☕️')
      const codes = await env.DB.prepare(
        'select id, description, reference from codes where id in (?, ?) order by id',
      )
        .bind(code.id, other.id)
        .all<{ id: string; description: string; reference: string }>()
      expect(Object.fromEntries(codes.results.map((r) => [r.id, r]))).toEqual({
        [code.id]: { id: code.id, description: 'Flat white\n\tlarge\r', reference: 'ref-1' },
        [other.id]: { id: other.id, description: 'Tea\nlarge', reference: 'T-1' },
      })
      const payment = await env.DB.prepare(
        "select description from payments where id = 'pay_0009'",
      ).first<{ description: string }>()
      expect(payment?.description).toBe('Flat white\n\tlarge\r')
      const task = '0009_customer_text_cleanup'
      expect(await logAfter(before)).toEqual([
        { task, target: 'merchants.name', rows: 1 },
        { task, target: 'codes.reference', rows: 1 },
        { task, target: 'codes.description', rows: 1 },
        { task, target: 'payments.description', rows: 1 },
      ])

      const again = await lastLogId()
      await cleanUp()
      expect(await nameOf(imitation)).toBe('Café Luna (demo)  elpmaxe.anulefac')
      expect((await logAfter(again)).map((r) => r.rows)).toEqual([0, 0, 0, 0])
    })

    it('strips every character it lists, each of which the save rules refuse', async () => {
      const db = createDb(env.DB)
      const listed = [...BIDI, ...ZERO_WIDTH, ...CONTROLS]
      const ids = new Map<number, string>()
      for (const cp of listed) {
        const name = `a${String.fromCodePoint(cp)}b`
        expect(customerTextProblem(name), `U+${cp.toString(16)}`).toBeDefined()
        ids.set(cp, await createMerchant(db, { name }))
      }
      for (const cp of MARKS) {
        const name = `a ${String.fromCodePoint(cp)}\uFE0F b ${String.fromCodePoint(cp)}`
        expect(nameProblem(name, null)?.rule, `U+${cp.toString(16)}`).toBe('name_verification_mark')
        ids.set(cp, await createMerchant(db, { name }))
      }
      await cleanUp()
      for (const cp of listed)
        expect(await nameOf(ids.get(cp) ?? ''), `U+${cp.toString(16)}`).toBe('ab')
      for (const cp of MARKS) {
        expect(await nameOf(ids.get(cp) ?? ''), `U+${cp.toString(16)}`).toBe('a  b')
      }
    })
  })

  it('0010 (admin session activity) counts open sessions as used when it runs: a deploy signs nobody out', async () => {
    const { merchantId } = await newMerchant()
    const future = Date.now() + 86_400_000
    // The test's D1 has every migration applied: take the table back to before 0010.
    await env.DB.batch([
      env.DB.prepare('alter table admin_sessions drop column last_used_at'),
      env.DB.prepare('alter table admin_sessions drop column client'),
      env.DB.prepare(
        `insert into admin_sessions (hash, merchant_id, api_key_id, created_at, expires_at, ended_at)
         values ('h_open', ?1, null, 1000, ?2, null), ('h_ended', ?1, null, 1000, ?2, 2000)`,
      ).bind(merchantId, future),
    ])
    const before = Date.now()
    await env.DB.batch(migration('0010').queries.map((q) => env.DB.prepare(q)))
    const { results } = await env.DB.prepare(
      "select hash, last_used_at, client from admin_sessions where hash in ('h_open', 'h_ended') order by hash",
    ).all<{ hash: string; last_used_at: number | null; client: string | null }>()
    expect(results).toEqual([
      { hash: 'h_ended', last_used_at: null, client: null },
      { hash: 'h_open', last_used_at: expect.any(Number), client: null },
    ])
    expect(results[1]?.last_used_at).toBeGreaterThanOrEqual(before)
    expect(results[1]?.last_used_at).toBeLessThanOrEqual(Date.now())
  })

  describe('0011 (who was paid, kept on each payment)', () => {
    /** A receipt id of the shape the receipt page accepts. */
    const receiptOf = (id: string) => `rcpt_${id.padEnd(22, '0')}`

    /** A payment as a Worker before 0011 wrote it: no merchant name or domain of its own. */
    async function oldPayment(id: string, merchantId: string, codeId: string) {
      await env.DB.prepare(
        `insert into payments (id, merchant_id, code_id, code_version, amount, currency, description,
           status, provider, receipt_id, created_at, updated_at)
         values (?, ?, ?, 1, 450, 'eur', 'Flat white', 'paid', 'test', ?, 1, 1)`,
      )
        .bind(`pay_${id}`, merchantId, codeId, receiptOf(id))
        .run()
    }

    /** 0011's statements but the columns it adds (the test's D1 has every migration applied). */
    async function backfill() {
      const queries = migration('0011').queries.filter((q) => !/alter table/i.test(q))
      await env.DB.batch(queries.map((q) => env.DB.prepare(q)))
    }

    const payee = (id: string) =>
      env.DB.prepare('select merchant_name, merchant_domain from payments where id = ?')
        .bind(`pay_${id}`)
        .first()

    const lastLogId = async () =>
      (await env.DB.prepare('select max(id) as id from maintenance_log').first<{ id: number }>())
        ?.id ?? 0

    const logAfter = async (id: number) =>
      (
        await env.DB.prepare('select task, target, rows from maintenance_log where id > ?')
          .bind(id)
          .all()
      ).results

    it("gives old payments the merchant's current name and verified domain, keeps recorded ones, counts them, and changes nothing run again", async () => {
      const db = createDb(env.DB)
      const verified = await createMerchant(db, {
        name: 'Café Luna',
        displayDomain: 'cafeluna.example',
        domainVerified: true,
      })
      const { key: verifiedKey } = await createApiKey(db, verified, 'test')
      const { key, merchantId: unverified } = await newMerchant('Luna Bar')
      const body = { action: 'checkout', currency: 'eur', amount: 450, description: 'Flat white' }
      const verifiedCode = await createCode(verifiedKey, body)
      const unverifiedCode = await createCode(key, body)
      await oldPayment('0011a', verified, verifiedCode.id)
      await oldPayment('0011b', unverified, unverifiedCode.id)
      // Recorded by the Worker since 0011, under a name the merchant had then.
      await oldPayment('0011c', verified, verifiedCode.id)
      await env.DB.prepare(
        "update payments set merchant_name = 'Luna', merchant_domain = null where id = 'pay_0011c'",
      ).run()
      // Other tests of this file leave payments too.
      const unrecorded = await env.DB.prepare(
        'select count(*) as n from payments where merchant_name is null',
      ).first<{ n: number }>()
      expect(unrecorded?.n).toBeGreaterThanOrEqual(2)
      const before = await lastLogId()

      await backfill()

      expect(await payee('0011a')).toEqual({
        merchant_name: 'Café Luna',
        merchant_domain: 'cafeluna.example',
      })
      // Its display domain is not verified: customers were never shown it.
      expect(await payee('0011b')).toEqual({ merchant_name: 'Luna Bar', merchant_domain: null })
      expect(await payee('0011c')).toEqual({ merchant_name: 'Luna', merchant_domain: null })
      const task = '0011_receipt_payee_snapshot'
      expect(await logAfter(before)).toEqual([
        { task, target: 'payments.merchant_name', rows: unrecorded?.n },
      ])

      // From now on the receipt keeps the name it was given, whatever the merchant is called.
      await env.DB.prepare("update merchants set name = 'Sol Café' where id = ?")
        .bind(verified)
        .run()
      const receipt = await (await call(`/r/${receiptOf('0011a')}`)).text()
      expect(receipt).toContain('<bdi class="payee">Café Luna</bdi>')
      expect(receipt).toContain('<span class="verified-domain">cafeluna.example</span>')

      const again = await lastLogId()
      await backfill()
      expect(await payee('0011a')).toEqual({
        merchant_name: 'Café Luna',
        merchant_domain: 'cafeluna.example',
      })
      expect(await logAfter(again)).toEqual([{ task, target: 'payments.merchant_name', rows: 0 }])
    })
  })
})
