/** The admin's payments: list with filters, CSV export, and one payment with its receipt link. */
import { Hono } from 'hono'
import { PAYMENT_STATUSES, type PaymentStatus } from '../db/schema'
import type { AppEnv } from '../env'
import { csvLine } from '../lib/csv'
import { publicBase } from '../lib/urls'
import { formatMinor } from '../money/currency'
import { isTestMode } from '../payments/mode'
import { getPayment, listPayments } from '../payments/queries'
import { PaymentRows } from './codes'
import { AdminLayout } from './layout'

export const adminPayments = new Hono<AppEnv>()

const EXPORT_MAX = 10_000

/** Filters from the query string; anything malformed is simply not applied. */
function filtersOf(query: (name: string) => string | undefined) {
  const status = PAYMENT_STATUSES.includes(query('status') as PaymentStatus)
    ? (query('status') as PaymentStatus)
    : undefined
  const codeId = /^code_[0-9A-Za-z]{1,64}$/.test(query('code_id') ?? '')
    ? query('code_id')
    : undefined
  const day = (v: string | undefined, end: boolean) =>
    v && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v))
      ? Date.parse(`${v}T00:00:00Z`) + (end ? 86_400_000 - 1 : 0)
      : undefined
  return {
    status,
    codeId,
    from: day(query('from'), false),
    to: day(query('to'), true),
    raw: {
      status: query('status') ?? '',
      code_id: query('code_id') ?? '',
      from: query('from') ?? '',
      to: query('to') ?? '',
    },
  }
}

adminPayments.get('/payments', async (c) => {
  const f = filtersOf((n) => c.req.query(n))
  const rows = await listPayments(c.var.db, c.var.admin.merchantId, { ...f, limit: 200 })
  const exportQuery = new URLSearchParams(Object.entries(f.raw).filter(([, v]) => v)).toString()
  return c.html(
    <AdminLayout title="Payments" section="payments" testMode={isTestMode(c.env)}>
      <h1>Payments</h1>
      <form class="inline card" method="get" action="/admin/payments">
        <div>
          <label for="status">Status</label>
          <select id="status" name="status">
            {['', ...PAYMENT_STATUSES].map((s) => (
              <option value={s} selected={s === f.raw.status}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="from">From (UTC)</label>
          <input id="from" name="from" type="date" value={f.raw.from} />
        </div>
        <div>
          <label for="to">To (UTC)</label>
          <input id="to" name="to" type="date" value={f.raw.to} />
        </div>
        {f.codeId ? <input type="hidden" name="code_id" value={f.codeId} /> : null}
        <button type="submit">Filter</button>
        <a
          class="button secondary"
          href={`/admin/payments.csv${exportQuery ? `?${exportQuery}` : ''}`}
        >
          Export CSV
        </a>
      </form>
      <PaymentRows rows={rows.slice(0, 200)} />
    </AdminLayout>,
  )
})

adminPayments.get('/payments.csv', async (c) => {
  const f = filtersOf((n) => c.req.query(n))
  const rows = await listPayments(c.var.db, c.var.admin.merchantId, { ...f, limit: EXPORT_MAX })
  const header = [
    'id',
    'created_at',
    'status',
    'amount_minor',
    'currency',
    'amount',
    'description',
    'code_id',
    'customer_email',
    'paid_at',
  ]
  const lines = rows
    .slice(0, EXPORT_MAX)
    .map((p) =>
      csvLine([
        p.id,
        new Date(p.createdAt).toISOString(),
        p.status,
        p.amount,
        p.currency,
        formatMinor(p.amount, p.currency),
        p.description,
        p.codeId,
        p.customerEmail,
        p.paidAt ? new Date(p.paidAt).toISOString() : null,
      ]),
    )
  return c.body([csvLine(header), ...lines].join(''), 200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': 'attachment; filename="payments.csv"',
  })
})

adminPayments.get('/payments/:id', async (c) => {
  const id = c.req.param('id')
  const payment = /^pay_[0-9A-Za-z]{1,64}$/.test(id)
    ? await getPayment(c.var.db, c.var.admin.merchantId, id)
    : undefined
  if (!payment) {
    return c.html(
      <AdminLayout title="Not found" section="payments">
        <h1>Not found</h1>
        <p>There is no such payment in your account.</p>
      </AdminLayout>,
      404,
    )
  }
  const base = publicBase(c.env, c.req.url)
  const iso = (ms: number | null) =>
    ms ? `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC` : '—'
  return c.html(
    <AdminLayout title={payment.id} section="payments" testMode={isTestMode(c.env)}>
      <p>
        <a href="/admin/payments">← Payments</a>
      </p>
      <h1>{formatMinor(payment.amount, payment.currency)}</h1>
      <div class="card">
        <dl>
          <dt>Status</dt>
          <dd>
            <span class={`badge ${payment.status}`}>{payment.status}</span>
          </dd>
          <dt>For</dt>
          <dd>{payment.description}</dd>
          <dt>Code</dt>
          <dd>
            <a href={`/admin/codes/${payment.codeId}`}>{payment.codeId}</a> (version{' '}
            {payment.codeVersion})
          </dd>
          <dt>Created</dt>
          <dd>{iso(payment.createdAt)}</dd>
          <dt>Paid</dt>
          <dd>{iso(payment.paidAt)}</dd>
          <dt>Customer</dt>
          <dd>{payment.customerEmail ?? '—'}</dd>
          <dt>Method</dt>
          <dd>
            {payment.methodLast4
              ? `${payment.methodBrand ?? 'card'} •••• ${payment.methodLast4}`
              : '—'}
          </dd>
          <dt>Provider</dt>
          <dd>
            {payment.provider}{' '}
            {payment.sessionId ? <span class="change">{payment.sessionId}</span> : null}
          </dd>
          {payment.failureReason ? (
            <>
              <dt>Failure</dt>
              <dd>{payment.failureReason}</dd>
            </>
          ) : null}
        </dl>
        {payment.status === 'paid' ? (
          <a class="button" href={`${base}/r/${payment.receiptId}`}>
            Receipt
          </a>
        ) : null}
      </div>
    </AdminLayout>,
  )
})
