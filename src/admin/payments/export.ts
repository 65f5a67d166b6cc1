/** `GET /admin/payments.csv`: the payment list, with the same filters, as a spreadsheet. */
import type { Context } from 'hono'
import type { AppEnv } from '../../env'
import { csvLine } from '../../lib/csv'
import { formatMinor } from '../../money/currency'
import { listPayments } from '../../payments/queries'
import { paymentFiltersOf } from './filters'

const EXPORT_MAX = 10_000

export async function exportPaymentsCsv(c: Context<AppEnv>) {
  const f = paymentFiltersOf((n) => c.req.query(n))
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
    'refunded_minor',
    'dispute_status',
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
        p.refundedAmount,
        p.disputeStatus,
      ]),
    )
  return c.body([csvLine(header), ...lines].join(''), 200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': 'attachment; filename="payments.csv"',
  })
}
