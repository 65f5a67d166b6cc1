/**
 * `POST /admin/payments/{id}/refund`: the refund button of a payment's page, in two steps. The
 * first post (amount, reason) shows what will be refunded; the second (`confirm`) refunds it,
 * with an idempotency key made for that confirm page, so a double click or a resubmitted form
 * refunds once. The refund records who pressed it (the session's actor).
 */
import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import { getCode } from '../../codes/queries'
import {
  isPaidStatus,
  type Payment,
  REFUND_REASONS,
  type Refund,
  type RefundReason,
} from '../../db/schema'
import type { AppEnv } from '../../env'
import { newId } from '../../lib/ids'
import { formatMinor, parseMajorAmount } from '../../money/currency'
import { paymentContext } from '../../payments/context'
import { getPayment } from '../../payments/queries'
import { remainingAmount } from '../../payments/refund-queries'
import { refundPayment } from '../../payments/refunds'
import { Badge } from '../components'
import { readForm } from '../forms'
import { AdminLayout } from '../layout'

const REASON_LABELS: Record<RefundReason, string> = {
  requested_by_customer: 'Requested by the customer',
  duplicate: 'Duplicate payment',
  fraudulent: 'Fraudulent',
}

/** The payment's refunds, with who made each; a failed one says why. */
export function PaymentRefunds(props: { refunds: Refund[] }) {
  if (props.refunds.length === 0) return null
  return (
    <div class="card">
      <h2>Refunds</h2>
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Amount</th>
            <th>Status</th>
            <th>Reason</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          {props.refunds.map((r) => (
            <tr>
              <td>{new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19)} UTC</td>
              <td>{formatMinor(r.amount, r.currency)}</td>
              <td>
                <Badge value={r.status} />
                {r.failureReason ? <span class="muted"> {r.failureReason}</span> : null}
              </td>
              <td>{r.reason ? REASON_LABELS[r.reason] : '—'}</td>
              <td class="change">
                {r.actor}
                {r.reopenSlot ? <span class="muted"> (reopens the slot)</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The form on the payment's page: amount (all that remains by default) and reason. */
export function RefundForm(props: { payment: Payment; remaining: number }) {
  const { payment, remaining } = props
  if (!isPaidStatus(payment.status) || remaining <= 0) return null
  return (
    <form class="card" method="post" action={`/admin/payments/${payment.id}/refund`}>
      <h2>Refund</h2>
      <label for="amount">Amount ({payment.currency.toUpperCase()})</label>
      <input
        id="amount"
        name="amount"
        inputmode="decimal"
        value={formatMinor(remaining, payment.currency).replace(/[^\d.,]/g, '')}
      />
      <p class="muted">At most {formatMinor(remaining, payment.currency)} remains.</p>
      <label for="reason">Reason</label>
      <select id="reason" name="reason">
        {REFUND_REASONS.map((r) => (
          <option value={r}>{REASON_LABELS[r]}</option>
        ))}
      </select>
      <button class="button danger" type="submit">
        Refund…
      </button>
    </form>
  )
}

export async function refundFromAdmin(c: Context<AppEnv, '/payments/:id/refund'>) {
  const id = c.req.param('id')
  const payment = /^pay_[0-9A-Za-z]{1,64}$/.test(id)
    ? await getPayment(c.var.db, c.var.admin.merchantId, id)
    : undefined
  if (!payment) return c.redirect('/admin/payments', 303)
  const form = await readForm(c.req)
  const back = `/admin/payments/${payment.id}`
  const page = (title: string, body: Child, status: 200 | 400 | 409 | 503 = 200) =>
    c.html(
      <AdminLayout title={title} section="payments">
        <p>
          <a href={back}>← Payment</a>
        </p>
        <h1>{title}</h1>
        {body}
      </AdminLayout>,
      status,
    )
  const refused = (message: string, status: 400 | 409 | 503) =>
    page(
      'Not refunded',
      <p class="error" role="alert">
        {message}
      </p>,
      status,
    )

  const reason = (REFUND_REASONS as readonly string[]).includes(form.reason ?? '')
    ? (form.reason as RefundReason)
    : null
  const amount =
    form.confirm === '1'
      ? Number.parseInt(form.amount_minor ?? '', 10)
      : parseMajorAmount(form.amount ?? '', payment.currency)
  if (typeof amount === 'string') return refused(amount, 400)
  if (!Number.isSafeInteger(amount) || amount < 1) return refused('Enter an amount above 0.', 400)

  if (form.confirm !== '1') {
    const remaining = await remainingAmount(c.var.db, payment.id)
    if (!isPaidStatus(payment.status)) return refused('Only a paid payment can be refunded.', 409)
    if (amount > remaining) {
      return refused(`At most ${formatMinor(remaining, payment.currency)} remains to refund.`, 400)
    }
    const code = await getCode(c.var.db, payment.merchantId, payment.codeId)
    const limited = code?.maxPayments != null
    return page(
      'Confirm the refund',
      <form class="card" method="post" action={`/admin/payments/${payment.id}/refund`}>
        <p>
          Refund <strong>{formatMinor(amount, payment.currency)}</strong> of{' '}
          {formatMinor(payment.amount, payment.currency)} ({payment.description})
          {payment.customerEmail ? ` to ${payment.customerEmail}` : ''}?{' '}
          {reason ? REASON_LABELS[reason] : ''}. This cannot be undone.
        </p>
        <input type="hidden" name="amount_minor" value={String(amount)} />
        <input type="hidden" name="reason" value={reason ?? ''} />
        <input type="hidden" name="key" value={newId('evt').slice('evt_'.length)} />
        <input type="hidden" name="confirm" value="1" />
        {limited ? (
          <p>
            <label>
              <input type="checkbox" name="reopen_slot" value="1" /> Reopen this payment's slot:
              once it is fully refunded, the code (at most {code?.maxPayments} payment(s)) can be
              paid again
            </label>
          </p>
        ) : null}
        <button class="button danger" type="submit">
          Refund {formatMinor(amount, payment.currency)}
        </button>{' '}
        <a href={back}>Cancel</a>
      </form>,
    )
  }

  const key = /^[0-9A-Za-z]{10,64}$/.test(form.key ?? '') ? `admin:${form.key}` : null
  const outcome = await refundPayment(paymentContext(c.env, c.req.url), payment, {
    amount,
    reason,
    idempotencyKey: key,
    actor: c.var.admin.actor,
    reopenSlot: form.reopen_slot === '1',
  })
  switch (outcome.kind) {
    case 'created':
      return c.redirect(back, 303)
    case 'not_refundable':
      return refused('Only a paid payment can be refunded.', 409)
    case 'exceeds':
      return refused(
        `At most ${formatMinor(outcome.remaining, payment.currency)} remains to refund. Nothing was refunded.`,
        400,
      )
    case 'key_reused':
      return refused('This confirmation was already used for another refund.', 409)
    case 'refused':
      return refused(`${outcome.message} Nothing was refunded.`, 409)
    case 'unavailable':
      return refused(
        'Stripe could not be reached; nothing was refunded. Go back and press the button again.',
        503,
      )
  }
}
