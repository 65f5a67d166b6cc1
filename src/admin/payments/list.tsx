/** `GET /admin/payments`: the merchant's payments, newest first, filtered, with a CSV export. */
import type { Context } from 'hono'
import { PAYMENT_STATUSES } from '../../db/schema'
import type { AppEnv } from '../../env'
import { isTestMode } from '../../payments/mode'
import { listPayments } from '../../payments/queries'
import { PaymentRows } from '../components'
import { AdminLayout } from '../layout'
import { paymentFiltersOf } from './filters'

/** Payments the list shows (the CSV export takes more). */
const PAYMENTS_SHOWN = 200

export async function showPayments(c: Context<AppEnv>) {
  const f = paymentFiltersOf((n) => c.req.query(n))
  const rows = await listPayments(c.var.db, c.var.admin.merchantId, { ...f, limit: PAYMENTS_SHOWN })
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
      <PaymentRows rows={rows.slice(0, PAYMENTS_SHOWN)} />
    </AdminLayout>,
  )
}
