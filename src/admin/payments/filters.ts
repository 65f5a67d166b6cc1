/** The payment list's filters, read from its query string (the CSV export takes the same). */
import { PAYMENT_STATUSES, type PaymentStatus } from '../../db/schema'

/** Filters from the query string; anything malformed is simply not applied. */
export function paymentFiltersOf(query: (name: string) => string | undefined) {
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
