/** Small pieces the admin's screens share: status badges, field errors, times, amounts, payments. */
import type { Code, Payment } from '../db/schema'
import { formatMinor } from '../money/currency'
import type { FormErrors } from './forms'

/** A time as the admin shows it: `2030-01-31 18:00 UTC`. */
export const when = (ms: number) =>
  `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`

/** What a checkout code takes: its fixed amount, or the bounds of an open one. */
export function amountText(code: Pick<Code, 'currency' | 'amount' | 'amountMin' | 'amountMax'>) {
  const currency = code.currency ?? 'usd'
  if (code.amount !== null) return formatMinor(code.amount, currency)
  return `${formatMinor(code.amountMin ?? 0, currency)} – ${formatMinor(code.amountMax ?? 0, currency)}`
}

/** A code's or a payment's status; the stylesheet colours it by its value. */
export const Badge = (props: { value: string }) => (
  <span class={`badge ${props.value}`}>{props.value}</span>
)

/** The error of one form field, if it has one (`${name}-error`, announced when it appears). */
export const FieldError = (props: { errors: FormErrors; name: string }) =>
  props.errors[props.name] ? (
    <p class="error" id={`${props.name}-error`} role="alert">
      {props.errors[props.name]}
    </p>
  ) : null

/** Payments as a table, newest first, each linking to its page. */
export function PaymentRows(props: { rows: Payment[] }) {
  if (!props.rows.length) return <p class="muted">No payments yet.</p>
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Status</th>
            <th class="num">Amount</th>
            <th class="hide">Payment</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((p) => (
            <tr>
              <td>{when(p.createdAt)}</td>
              <td>
                <Badge value={p.status} />
              </td>
              <td class="num">{formatMinor(p.amount, p.currency)}</td>
              <td class="hide">
                <a href={`/admin/payments/${p.id}`}>{p.id}</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
