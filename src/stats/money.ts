/**
 * What a code's payments took and gave back, for its stats: the payments paid in a range, per
 * currency, with what has been refunded of them (by succeeded refunds, to this day), and how many
 * of them were refunded at all. Read from D1's payments, whose `refunded_amount` is recomputed from
 * the refund rows on every refund event (payments/refund-queries.ts), so it is never counted twice.
 * Amounts are integer minor units; currencies are never added together.
 */
const PAID = "('paid', 'partially_refunded', 'refunded')"

export interface MoneyAmount {
  currency: string
  /** Paid by the payments paid in the range (minor units). */
  paid: number
  /** Refunded of those payments so far (minor units). */
  refunded: number
}

export interface MoneyStats {
  amounts: MoneyAmount[]
  /** Payments paid in the range with at least one succeeded refund. */
  refundedPayments: number
}

export async function moneyStats(
  d1: D1Database,
  codeId: string,
  range: { from: number; to: number },
): Promise<MoneyStats> {
  const { results } = await d1
    .prepare(
      `select currency, sum(amount) as paid, sum(refunded_amount) as refunded,
         sum(refunded_amount > 0) as refunded_payments
       from payments
       where code_id = ?1 and status in ${PAID} and paid_at >= ?2 and paid_at < ?3
       group by currency order by currency`,
    )
    .bind(codeId, range.from, range.to)
    .all<{ currency: string; paid: number; refunded: number; refunded_payments: number }>()
  return {
    amounts: results.map((r) => ({ currency: r.currency, paid: r.paid, refunded: r.refunded })),
    refundedPayments: results.reduce((n, r) => n + r.refunded_payments, 0),
  }
}
