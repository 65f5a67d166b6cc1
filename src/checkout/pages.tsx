/** The pages of a paid payment: the return page once paid, and the receipt. */
import { formatMinor } from '../money/currency'
import { Icon } from '../pages/icons'
import { Layout } from '../pages/layout'
import { Payee } from '../pages/payee'
import type { PaymentView } from '../payments/queries'

const when = (ms: number, locale: string) =>
  `${new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(ms)} UTC`

const brandName = (brand: string | null) =>
  brand ? brand.replace(/_/g, ' ').replace(/\b\w/g, (ch) => ch.toUpperCase()) : 'Card'

export function PaidPage(props: { view: PaymentView; locale: string; testMode: boolean }) {
  const { payment, merchantName, merchantDomain } = props.view
  return (
    <Layout title="Payment received" testMode={props.testMode}>
      <div class="card">
        <p class="status">
          <Icon name="check" />
        </p>
        <h1>Payment received</h1>
        <p class="amount">{formatMinor(payment.amount, payment.currency, props.locale)}</p>
        <p class="muted">Paid to</p>
        <Payee name={merchantName} domain={merchantDomain} />
        <p class="muted">For {payment.description}</p>
        <a class="button" href={`/r/${payment.receiptId}`}>
          View receipt
        </a>
      </div>
      <footer>qrcheckout</footer>
    </Layout>
  )
}

export function ReceiptPage(props: { view: PaymentView; locale: string; testMode: boolean }) {
  const { payment, merchantName, merchantDomain } = props.view
  return (
    <Layout title={`Receipt from ${merchantName}`} testMode={props.testMode}>
      <div class="card">
        <p class="muted">Receipt</p>
        <Payee name={merchantName} domain={merchantDomain} heading />
        <p class="amount">{formatMinor(payment.amount, payment.currency, props.locale)}</p>
        <dl>
          <dt>For</dt>
          <dd>{payment.description}</dd>
          <dt>Paid</dt>
          <dd>{when(payment.paidAt ?? payment.updatedAt, props.locale)}</dd>
          {payment.methodLast4 ? (
            <>
              <dt>Method</dt>
              <dd>
                {brandName(payment.methodBrand)} •••• {payment.methodLast4}
              </dd>
            </>
          ) : null}
          {payment.refundedAmount > 0 ? (
            <>
              <dt>Refunded</dt>
              <dd>
                {formatMinor(payment.refundedAmount, payment.currency, props.locale)}
                {payment.status === 'refunded' ? ' (in full)' : ''}
              </dd>
            </>
          ) : null}
          <dt>Reference</dt>
          <dd>{payment.id}</dd>
          {props.view.reference ? (
            <>
              <dt>Merchant ref.</dt>
              <dd>{props.view.reference}</dd>
            </>
          ) : null}
          {props.testMode || payment.provider === 'test' ? (
            <>
              <dt>Mode</dt>
              <dd>TEST — not a real payment</dd>
            </>
          ) : null}
        </dl>
        <p class="muted noprint">Print this page or save it as PDF to keep a copy.</p>
      </div>
      <footer>qrcheckout</footer>
    </Layout>
  )
}
