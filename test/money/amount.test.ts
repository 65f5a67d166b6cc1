import { describe, expect, it } from 'vitest'
import { currencyRule, formatMinor, parseMajorAmount } from '../../src/money/currency'
import { shownNumber } from './shown'

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
    // Arabic separators mean the same in every locale: ٬ groups, ٫ is the decimal point.
    ...['en', 'de', 'fr', 'ru', 'sv', 'nb', 'en-ZA', 'de-CH', 'en-DE', 'pt-CV', 'ar-EG'].flatMap(
      (locale) => [
        ['١٬٥٠٠', 'kwd', locale, 1_500_000] as [string, string, string, number],
        ['١٫٥٠٠', 'kwd', locale, 1_500] as [string, string, string, number],
        ['١٫٥', 'usd', locale, 150] as [string, string, string, number],
        ['1٬500٫25', 'eur', locale, 150_025] as [string, string, string, number],
      ],
    ),
    ['0.5', 'usd', 'en', 50],
    // pt-CV's own decimal symbol, typed, is a decimal point: never a group.
    ['1$500', 'kwd', 'pt-CV', 1_500],
    // Where the locale's own separators are Arabic, "." is the decimal point.
    ['1.500', 'kwd', 'ar-KW', 1_500],
    ['١٫٥٠٠', 'kwd', 'ar-KW', 1_500],
    ['١٬٥٠٠', 'kwd', 'ar-KW', 1_500_000],
    // Spaces and apostrophes grouping in threes.
    ['1 500', 'usd', 'en', 150_000],
    ['1 500 000,5', 'eur', 'fr', 150_000_050],
    // Money in en-DE is written "€1,500.00", not like its plain numbers ("1.500,00").
    ['1,500', 'eur', 'en-DE', 150_000],
    ['1,500.250', 'kwd', 'en-DE', 1_500_250],
    ['1.5', 'kwd', 'en-DE', 1_500],
    // fr-CH writes money with a decimal point, pt-CV with "$".
    ['1 500.25', 'chf', 'fr-CH', 150_025],
    ['1 500$25', 'usd', 'pt-CV', 150_025],
    ['12,50', 'usd', 'pt-CV', 1_250],
    // A leading 0 is never a thousands group.
    ['0.200', 'kwd', 'de', 200],
    ['0,500', 'kwd', 'en', 500],
    // The locale's own digits, and full-width ones from a Japanese keyboard.
    ['১,৫০০', 'jpy', 'bn', 1_500],
    ['１５００', 'jpy', 'ja', 1_500],
  ])('%s %s in %s is %i', (typed, currency, locale, minor) => {
    expect(parseMajorAmount(typed, currency, locale)).toBe(minor)
  })

  it('reads back every amount the page itself shows, in each locale', () => {
    const locales = [
      ...['en', 'en-US', 'en-GB', 'en-IN', 'en-DE', 'en-NL', 'en-FI', 'en-FR', 'en-BE'],
      ...['de', 'de-AT', 'de-CH', 'fr', 'fr-CH', 'it', 'es', 'nl', 'pt-BR', 'pl', 'sv', 'ru'],
      ...['ja', 'zh', 'ko', 'ar', 'ar-EG', 'fa', 'he', 'hi', 'bn', 'mr', 'th', 'tr'],
    ]
    for (const locale of locales) {
      for (const [currency, minor] of [
        ['usd', 150_025],
        ['eur', 1_234_567],
        ['inr', 150_000_000],
        ['jpy', 5_000],
        ['krw', 1_500],
        ['kwd', 1_500_250],
        ['kwd', 1_500],
        ['bhd', 200],
      ] as const) {
        const shown = shownNumber(minor, currency, locale)
        expect(formatMinor(minor, currency, locale)).toContain(shown)
        const read = parseMajorAmount(shown, currency, locale)
        // Where money and plain numbers disagree (en-DE), "1.500" of a three-decimal currency is
        // refused as ambiguous rather than guessed; everything else reads back exactly.
        if (
          typeof read === 'string' &&
          currencyRule(currency)?.exponent === 3 &&
          /^\d{1,3}[.,]\d{3}$/.test(shown)
        ) {
          expect(read, `${shown} ${currency} ${locale}`).toMatch(/without a thousands separator/)
        } else {
          expect(read, `${shown} ${currency} ${locale}`).toBe(minor)
        }
      }
    }
  })

  it.each([
    // A lone separator before three digits where the locale uses it for neither: ambiguous.
    ['1.500', 'kwd', 'fr', /without a thousands separator/],
    // en-DE's money says 1.5, its plain numbers 1500: both are KWD amounts, so neither is guessed.
    ['1.500', 'kwd', 'en-DE', /without a thousands separator/],
    ['1,500', 'kwd', 'en-DE', /without a thousands separator/],
    ['1.500', 'kwd', 'fr-CH', /without a thousands separator/],
    ['1.500', 'usd', 'en', /at most 2 decimals/],
    ['1.500', 'jpy', 'en', /no decimals/],
    ['1,5000', 'usd', 'en', /at most 2 decimals/],
    ['0,500', 'usd', 'en', /at most 2 decimals/],
    ['0,500,000', 'usd', 'en', /such as 12\.50/],
    ['1,50,5', 'usd', 'en', /such as 12\.50/],
    ['1.500.5', 'eur', 'de', /such as 12,50/],
    ['12.', 'usd', 'en', /such as/],
    ['.5', 'usd', 'en', /such as/],
    ['-5', 'usd', 'en', /such as/],
    ['1e3', 'usd', 'en', /such as/],
    ['1234567890', 'usd', 'en', /such as/],
    ['', 'usd', 'en', /such as/],
    // The Arabic thousands separator only ever groups (in threes, or 2-2-3 as in India): elsewhere it is refused,
    // never dropped (fr would read "١٢٬٣٤" as 1234) nor taken for a decimal point (en: 12.34).
    ...['en', 'de', 'fr', 'de-CH', 'ar-EG'].flatMap((locale) => [
      ['١٢٬٣٤', 'usd', locale, /such as/] as [string, string, string, RegExp],
      ['١٬٥', 'usd', locale, /such as/] as [string, string, string, RegExp],
      ['1٬5', 'kwd', locale, /such as/] as [string, string, string, RegExp],
      ['١٫٥٫٠', 'usd', locale, /such as/] as [string, string, string, RegExp],
      ['١٫٥٬٠٠', 'usd', locale, /such as/] as [string, string, string, RegExp],
      ['1,500٫25', 'usd', locale, /such as/] as [string, string, string, RegExp],
      ['١٬٥٠٠٫٢٥٠', 'usd', locale, /at most 2 decimals/] as [string, string, string, RegExp],
    ]),
    // Arabic-script locales: "," and "." before three digits could be ٫ or ٬ typed the Latin way.
    ...['ar-KW', 'ar-BH', 'ar-OM', 'ar-JO', 'ar-EG', 'fa'].flatMap((locale) => [
      ['1,500', 'kwd', locale, /without a thousands separator/] as [string, string, string, RegExp],
      ['١,٥٠٠', 'bhd', locale, /without a thousands separator/] as [string, string, string, RegExp],
    ]),
    // What comes before three digits cannot be a group, and the symbol is not the decimal point.
    ['01,500', 'kwd', 'en', /without a thousands separator/],
    ['1500,500', 'kwd', 'en', /without a thousands separator/],
    ['01.500', 'kwd', 'de', /without a thousands separator/],
    ['1500.500', 'kwd', 'de', /without a thousands separator/],
    // Spaces and apostrophes only group in threes.
    ['12 50', 'usd', 'en', /such as 12\.50/],
    ["1'50", 'chf', 'de-CH', /such as/],
    ['15 00', 'eur', 'fr', /such as 12,50/],
    ['1 500.2 5', 'usd', 'en', /such as/],
  ])('refuses %s %s in %s', (typed, currency, locale, message) => {
    expect(parseMajorAmount(typed, currency, locale)).toMatch(message)
  })
})
