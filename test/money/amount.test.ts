import { describe, expect, it } from 'vitest'
import { formatMinor, parseMajorAmount } from '../../src/money/currency'

describe('reading a typed amount the way the page showed amounts', () => {
  it.each([
    // [typed, currency, locale, minor units]
    ['12.50', 'usd', 'en', 1250],
    ['12,50', 'usd', 'en', 1250],
    ['12,50', 'eur', 'de', 1250],
    ['1,500', 'usd', 'en-US', 150_000],
    ['1,500.25', 'usd', 'en', 150_025],
    ['1.500,25', 'eur', 'de', 150_025],
    ['1 500,25', 'eur', 'fr', 150_025],
    ['1\u202f500,25', 'eur', 'fr', 150_025],
    ['1’500.25', 'chf', 'de-CH', 150_025],
    ['15,00,000', 'inr', 'en-IN', 150_000_000],
    ['1,500,000', 'jpy', 'en', 1_500_000],
    ['5,000', 'jpy', 'ja', 5_000],
    ['5000', 'jpy', 'ja', 5_000],
    // Three decimals: the locale decides what "1,500" and "1.500" are.
    ['1,500', 'kwd', 'en', 1_500_000],
    ['1.500', 'kwd', 'en', 1_500],
    ['1.500', 'kwd', 'de', 1_500_000],
    ['1,500', 'kwd', 'de', 1_500],
    ['1,500.250', 'kwd', 'ar', 1_500_250],
    ['١٬٥٠٠٫٢٥٠', 'kwd', 'ar-EG', 1_500_250],
    ['0.5', 'usd', 'en', 50],
  ])('%s %s in %s is %i', (typed, currency, locale, minor) => {
    expect(parseMajorAmount(typed, currency, locale)).toBe(minor)
  })

  it('reads back every amount the page itself shows, in each locale', () => {
    const exponents = { usd: 2, eur: 2, jpy: 0, kwd: 3 } as const
    for (const locale of ['en', 'en-US', 'de', 'fr', 'de-CH', 'ja', 'ar', 'ar-EG', 'en-IN', 'hi']) {
      for (const [currency, minor] of [
        ['usd', 150_025],
        ['eur', 1_234_567],
        ['jpy', 5_000],
        ['kwd', 1_500_250],
        ['kwd', 1_500],
      ] as const) {
        // The number as formatMinor shows it in that locale, without the currency's symbol.
        const digits = exponents[currency]
        const shown = new Intl.NumberFormat(locale, {
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        }).format(minor / 10 ** digits)
        expect(formatMinor(minor, currency, locale)).toContain(shown)
        expect(parseMajorAmount(shown, currency, locale), `${shown} ${currency} ${locale}`).toBe(
          minor,
        )
      }
    }
  })

  it.each([
    // A lone separator before three digits where the locale uses it for neither: ambiguous.
    ['1.500', 'kwd', 'fr', /without a thousands separator/],
    ['1.500', 'usd', 'en', /at most 2 decimals/],
    ['1.500', 'jpy', 'en', /no decimals/],
    ['1,5000', 'usd', 'en', /at most 2 decimals/],
    ['1,50,5', 'usd', 'en', /such as 12\.50/],
    ['1.500.5', 'eur', 'de', /such as 12,50/],
    ['12.', 'usd', 'en', /such as/],
    ['.5', 'usd', 'en', /such as/],
    ['-5', 'usd', 'en', /such as/],
    ['1e3', 'usd', 'en', /such as/],
    ['1234567890', 'usd', 'en', /such as/],
    ['', 'usd', 'en', /such as/],
  ])('refuses %s %s in %s', (typed, currency, locale, message) => {
    expect(parseMajorAmount(typed, currency, locale)).toMatch(message)
  })
})
