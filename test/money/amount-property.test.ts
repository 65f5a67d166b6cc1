/**
 * Properties of reading typed amounts, over random amounts, every supported currency and many
 * locales (fast-check): whatever the page shows, read back, is the same amount; so is the same
 * number typed without grouping. A misread here charges the wrong amount.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  currencyRule,
  formatMinor,
  parseMajorAmount,
  SUPPORTED_CURRENCIES,
} from '../../src/money/currency'
import { shownNumber } from './shown'

const LOCALES = [
  ...['en', 'en-US', 'en-GB', 'en-IN', 'en-DE', 'en-ZA', 'en-CH', 'de', 'de-AT', 'de-CH', 'fr'],
  ...['fr-CH', 'fr-CA', 'it', 'it-CH', 'es', 'es-MX', 'nl', 'pt', 'pt-BR', 'pt-CV', 'pl', 'sv'],
  ...['nb', 'da', 'fi', 'cs', 'hu', 'ro', 'ru', 'uk', 'tr', 'el', 'he', 'ar', 'ar-EG', 'ar-MA'],
  ...['fa', 'ur', 'hi', 'bn', 'mr', 'th', 'vi', 'id', 'ms', 'ja', 'zh', 'zh-TW', 'ko'],
]

/**
 * Whether the locale writes money with other separators than plain numbers (en-DE: "€1,500.00"
 * but "1.500,00"): only there may a three-decimal amount like "1.500" be refused as ambiguous.
 */
function mixed(locale: string, currency: string): boolean {
  const symbols = (format: Intl.NumberFormat) =>
    format
      .formatToParts(12345.6)
      .filter((p) => p.type === 'group' || p.type === 'decimal')
      .map((p) => `${p.type}:${p.value}`)
      .join(' ')
  return (
    symbols(
      new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase() }),
    ) !== symbols(new Intl.NumberFormat(locale, { minimumFractionDigits: 1 }))
  )
}

/** A refusal is only ever "ambiguous", of a three-decimal amount, where money and numbers differ. */
function expectAllowedRefusal(read: string, a: { currency: string; locale: string }) {
  expect(read).toMatch(/without a thousands separator/)
  expect(currencyRule(a.currency)?.exponent).toBe(3)
  expect(mixed(a.locale, a.currency)).toBe(true)
}

const amounts = fc.record({
  currency: fc.constantFrom(...SUPPORTED_CURRENCIES),
  locale: fc.constantFrom(...LOCALES),
  // Up to what an amount field takes: nine digits of major units.
  major: fc.integer({ min: 0, max: 999_999_999 }),
  fraction: fc.nat(),
})

const minorOf = (a: { currency: string; major: number; fraction: number }) => {
  const exponent = currencyRule(a.currency)?.exponent ?? 2
  return a.major * 10 ** exponent + (a.fraction % 10 ** exponent)
}

describe('reading typed amounts (properties)', () => {
  it('reads back what the page shows, or refuses it as ambiguous, never another amount', () => {
    fc.assert(
      fc.property(amounts, (a) => {
        const minor = minorOf(a)
        const text = shownNumber(minor, a.currency, a.locale)
        expect(formatMinor(minor, a.currency, a.locale)).toContain(text)
        const read = parseMajorAmount(text, a.currency, a.locale)
        if (typeof read === 'string') expectAllowedRefusal(read, a)
        else expect(read).toBe(minor)
      }),
      { numRuns: 3000 },
    )
  })

  it('reads the same amount typed without grouping', () => {
    fc.assert(
      fc.property(amounts, (a) => {
        const minor = minorOf(a)
        const text = shownNumber(minor, a.currency, a.locale, { grouping: false })
        const read = parseMajorAmount(text, a.currency, a.locale)
        if (typeof read === 'string') expectAllowedRefusal(read, a)
        else expect(read).toBe(minor)
      }),
      { numRuns: 3000 },
    )
  })
})
