/** `GET /admin/payments/{id}`: one payment, with its receipt link once paid. */
import type { Context } from 'hono'
import { isPaidStatus } from '../../db/schema'
import type { AppEnv } from '../../env'
import { publicBase } from '../../lib/urls'
import { formatMinor } from '../../money/currency'
import { isTestMode } from '../../payments/mode'
import { getPayment } from '../../payments/queries'
import { listRefunds, remainingAmount } from '../../payments/refund-queries'
import { Badge } from '../components'
import { AdminLayout } from '../layout'
import { PaymentRefunds, RefundForm } from './refund'

export async function showPayment(c: Context<AppEnv, '/payments/:id'>) {
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
  const [refunds, remaining] = await Promise.all([
    listRefunds(c.var.db, payment.id),
    remainingAmount(c.var.db, payment.id),
  ])
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
            <Badge value={payment.status} />
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
          <dt>Stripe account</dt>
          <dd>
            {payment.stripeAccount ? (
              <span class="change">{payment.stripeAccount}</span>
            ) : payment.provider === 'stripe' ? (
              "The deployment's own"
            ) : (
              '—'
            )}
          </dd>
          {payment.refundedAmount > 0 ? (
            <>
              <dt>Refunded</dt>
              <dd>{formatMinor(payment.refundedAmount, payment.currency)}</dd>
            </>
          ) : null}
          {payment.disputeStatus ? (
            <>
              <dt>Dispute</dt>
              <dd>
                <Badge value={payment.disputeStatus} />{' '}
                {payment.disputeAmount !== null
                  ? formatMinor(payment.disputeAmount, payment.currency)
                  : ''}{' '}
                <span class="change">{payment.disputeId}</span>
              </dd>
            </>
          ) : null}
          {payment.failureReason ? (
            <>
              <dt>Failure</dt>
              <dd>{payment.failureReason}</dd>
            </>
          ) : null}
        </dl>
        {isPaidStatus(payment.status) ? (
          <a class="button" href={`${base}/r/${payment.receiptId}`}>
            Receipt
          </a>
        ) : null}
        {payment.provider === 'test' && payment.sessionId && isPaidStatus(payment.status) ? (
          <>
            {' '}
            <a class="button" href={`/test-mode/disputes/${payment.sessionId}`}>
              Simulate a dispute (test mode)
            </a>
          </>
        ) : null}
      </div>
      <PaymentRefunds refunds={refunds} />
      <RefundForm payment={payment} remaining={remaining} />
    </AdminLayout>,
  )
}
