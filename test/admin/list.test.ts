import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { CODES_PER_PAGE } from '../../src/admin/codes/list'
import { CreateCode } from '../../src/codes/schemas'
import { createCodeFor } from '../../src/codes/service'
import { createDb } from '../../src/db/client'
import { newMerchant, replaceMethod } from '../helpers'
import { AdminClient } from './client'

/** D1 as deployed: a statement binds at most 100 parameters ("too many SQL variables"). */
function deployedD1(d1: D1Database): D1Database {
  return replaceMethod(
    d1,
    'prepare',
    (prepare) => (query) =>
      replaceMethod(prepare(query), 'bind', (bind) => (...values) => {
        if (values.length > 100)
          throw new Error(`D1_ERROR: too many SQL variables: ${values.length}`)
        return bind(...values)
      }),
  )
}

const rowOf = (page: string, slug: string) =>
  new RegExp(`>/${slug}</a>[\\s\\S]*?</tr>`).exec(page)?.[0] ?? ''
const scansTodayIn = (row: string) => /<td class="num">(\d+)<\/td>/.exec(row)?.[1]

describe('the admin code list of a merchant with many codes', () => {
  it("pages through them, 100 at a time, with each one's scans today, in statements D1 accepts", async () => {
    const { key, merchantId } = await newMerchant()
    const db = createDb(env.DB)
    const total = CODES_PER_PAGE + 5
    const ids: string[] = []
    for (let i = 0; i < total; i++) {
      const input = { action: 'redirect', slug: `many-${i}`, destination_url: 'https://a.example' }
      ids.push((await createCodeFor(db, merchantId, CreateCode.parse(input))).id)
    }
    // Newest first: many-104 … many-5 on the first page. Today's human scans of two of them,
    // one in each group of ids the counts are read in.
    const hour = Date.now() - (Date.now() % 3_600_000)
    await env.DB.batch(
      [
        [ids[total - 1], 3],
        [ids[5], 7],
      ].map(([id, human]) =>
        env.DB.prepare(
          'insert into scan_rollup_hours (code_id, hour, human) values (?, ?, ?)',
        ).bind(id, hour, human),
      ),
    )

    const admin = await AdminClient.signIn(key)
    admin.bindings = { DB: deployedD1(env.DB) }
    const first = await admin.get('/admin')
    expect(first.status).toBe(200)
    const page = await first.text()
    expect(page.match(/>\/many-\d+<\/a>/g)).toHaveLength(CODES_PER_PAGE)
    expect(scansTodayIn(rowOf(page, `many-${total - 1}`))).toBe('3')
    expect(scansTodayIn(rowOf(page, 'many-5'))).toBe('7')
    expect(scansTodayIn(rowOf(page, 'many-6'))).toBe('0')
    expect(page).not.toContain('>/many-4</a>')

    const next = /href="(\/admin\?after=[^"]+)"/.exec(page)?.[1]?.replaceAll('&amp;', '&')
    expect(next).toBeDefined()
    const second = await (await admin.get(next ?? '')).text()
    expect(second.match(/>\/many-\d+<\/a>/g)).toEqual([4, 3, 2, 1, 0].map((i) => `>/many-${i}</a>`))
    expect(second).not.toContain('?after=')

    // The next page keeps the filters.
    const filtered = await (await admin.get('/admin?status=active&action=redirect&q=many')).text()
    const link = /href="(\/admin\?[^"]*after=[^"]+)"/.exec(filtered)?.[1]?.replaceAll('&amp;', '&')
    const params = new URL(link ?? '/', 'https://x.example').searchParams
    expect([params.get('q'), params.get('status'), params.get('action')]).toEqual([
      'many',
      'active',
      'redirect',
    ])
  })

  it('answers a forged page cursor with a 400 page', async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const bad = await admin.get('/admin?status=active&after=bm90LWEtY3Vyc29y')
    expect(bad.status).toBe(400)
    expect(bad.headers.get('content-type')).toContain('text/html')
  })
})
