/** `GET /admin`: the merchant's codes, filtered and paged, each with its scans and payments today. */
import type { Context } from 'hono'
import { getMerchant } from '../../auth/queries'
import { listCodes } from '../../codes/queries'
import type { Code } from '../../db/schema'
import type { AppEnv } from '../../env'
import { decodeCursor, paginate } from '../../lib/cursor'
import { isTestMode } from '../../payments/mode'
import { paidCountsByCode } from '../../payments/queries'
import { humanScansByCode } from '../../stats/scan-counts'
import { amountText, Badge } from '../components'
import { AdminLayout } from '../layout'

/** Codes listed per page of the admin's code list. */
export const CODES_PER_PAGE = 100

const startOfUtcDay = (ms: number) => ms - (ms % 86_400_000)

export async function showCodeList(c: Context<AppEnv>) {
  const db = c.var.db
  const { merchantId } = c.var.admin
  const status = ['active', 'paused', 'archived'].includes(c.req.query('status') ?? '')
    ? (c.req.query('status') as Code['status'])
    : undefined
  const action = ['redirect', 'checkout'].includes(c.req.query('action') ?? '')
    ? (c.req.query('action') as Code['action'])
    : undefined
  const search = c.req.query('q')?.trim().slice(0, 100) || undefined
  const rows = await listCodes(db, merchantId, {
    status,
    action,
    search,
    limit: CODES_PER_PAGE,
    after: decodeCursor(c.req.query('after')),
  })
  const { data: codes, next_cursor: next } = paginate(rows, CODES_PER_PAGE, (r) => ({
    at: r.createdAt,
    id: r.id,
  }))
  const nextPage = next
    ? `/admin?${new URLSearchParams({
        ...(search ? { q: search } : {}),
        ...(status ? { status } : {}),
        ...(action ? { action } : {}),
        after: next,
      })}`
    : null
  // Today in UTC; scans come from the hourly rollups, a few rows per code rather than one per scan.
  const today = startOfUtcDay(Date.now())
  const ids = codes.map((r) => r.id)
  const [scansToday, paidToday, merchant] = await Promise.all([
    humanScansByCode(db, ids, today),
    paidCountsByCode(db, ids, today),
    getMerchant(db, merchantId),
  ])
  return c.html(
    <AdminLayout
      title="Codes"
      section="codes"
      merchantName={merchant?.name}
      testMode={isTestMode(c.env)}
    >
      <div class="inline bar">
        <h1>Codes</h1>
        <a class="button" href="/admin/codes/new">
          New code
        </a>
      </div>
      <form class="inline card" method="get" action="/admin">
        <div>
          <label for="q">Search</label>
          <input id="q" name="q" value={search ?? ''} placeholder="slug, description, URL…" />
        </div>
        <div>
          <label for="status">Status</label>
          <select id="status" name="status">
            {['', 'active', 'paused', 'archived'].map((s) => (
              <option value={s} selected={s === (status ?? '')}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="action">Kind</label>
          <select id="action" name="action">
            {['', 'redirect', 'checkout'].map((s) => (
              <option value={s} selected={s === (action ?? '')}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Code</th>
              <th>Status</th>
              <th class="hide">Goes to</th>
              <th class="num">Scans today</th>
              <th class="num">Paid today</th>
            </tr>
          </thead>
          <tbody>
            {codes.map((code) => (
              <tr>
                <td>
                  <a href={`/admin/codes/${code.id}`}>/{code.slug}</a>
                  <div class="muted">
                    {code.action}
                    {code.mode === 'static' ? ' · static' : ''}
                  </div>
                </td>
                <td>
                  <Badge value={code.status} />
                </td>
                <td class="hide">
                  {code.action === 'redirect' ? (
                    <span class="change">{code.destinationUrl}</span>
                  ) : (
                    `${code.description} · ${amountText(code)}`
                  )}
                </td>
                <td class="num">{scansToday.get(code.id) ?? 0}</td>
                <td class="num">
                  {code.action === 'checkout' ? (paidToday.get(code.id) ?? 0) : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {nextPage ? (
        <p>
          <a href={nextPage}>Next {CODES_PER_PAGE} codes →</a>
        </p>
      ) : null}
      {codes.length ? null : <p class="muted">No codes yet. Create your first one.</p>}
    </AdminLayout>,
  )
}
