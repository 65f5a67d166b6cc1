/** What the money tests type: an amount's number as the page shows it. */
import { currencyRule } from '../../src/money/currency'

/**
 * The number of `minor` units as formatMinor shows it in `locale`, without the currency's symbol
 * or sign; with `grouping: false`, as typed without thousands separators.
 */
export function shownNumber(
  minor: number,
  currency: string,
  locale: string,
  { grouping = true } = {},
): string {
  const exponent = currencyRule(currency)?.exponent ?? 2
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    // Grouping as formatMinor does (the locale's own rule, "auto"), or none.
    ...(grouping ? {} : { useGrouping: false }),
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  })
    .formatToParts(minor / 10 ** exponent)
    .filter((p) => ['integer', 'group', 'decimal', 'fraction'].includes(p.type))
    .map((p) => p.value)
    .join('')
}
