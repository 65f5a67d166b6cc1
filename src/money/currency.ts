/**
 * Currencies we accept and their rules, as Stripe applies them. Amounts are always integers in the
 * currency's minor unit: cents for USD, yen for JPY (zero-decimal), fils for KWD (three-decimal).
 * Source: https://docs.stripe.com/currencies (minimums: "Minimum and maximum charge amounts").
 */
import { z } from '@hono/zod-openapi'

export interface CurrencyRule {
  /** Digits after the decimal point in Stripe's amounts: 0, 2 or 3. */
  exponent: 0 | 2 | 3
  /** Smallest amount Stripe will charge, in minor units (about 0.50 USD). */
  min: number
}

/** Stripe's largest amount: 8 digits in minor units. */
export const MAX_AMOUNT = 99_999_999

const two = (min: number): CurrencyRule => ({ exponent: 2, min })
const zero = (min: number): CurrencyRule => ({ exponent: 0, min })
const three = (min: number): CurrencyRule => ({ exponent: 3, min })

/**
 * Minimums Stripe publishes are used as given; for currencies it does not list, the value is the
 * rounded-up equivalent of 0.50 USD so a payment never fails at Stripe for being too small.
 */
const RULES: Record<string, CurrencyRule> = {
  usd: two(50),
  eur: two(50),
  gbp: two(30),
  aud: two(50),
  cad: two(50),
  chf: two(50),
  nzd: two(50),
  sgd: two(50),
  brl: two(50),
  inr: two(50),
  aed: two(200),
  bgn: two(100),
  czk: two(1500),
  dkk: two(250),
  hkd: two(400),
  huf: two(17500),
  mxn: two(1000),
  myr: two(200),
  nok: two(300),
  pln: two(200),
  ron: two(200),
  sek: two(300),
  thb: two(1000),
  zar: two(1000),
  ils: two(200),
  try: two(2000),
  php: two(3000),
  idr: two(1000000),
  // Zero-decimal currencies: the amount is in whole units, never multiplied by 100.
  jpy: zero(50),
  krw: zero(700),
  vnd: zero(13000),
  clp: zero(500),
  pyg: zero(4000),
  xaf: zero(300),
  xof: zero(300),
  xpf: zero(60),
  ugx: zero(2000),
  rwf: zero(700),
  bif: zero(1500),
  djf: zero(100),
  gnf: zero(4500),
  kmf: zero(250),
  mga: zero(2500),
  vuv: zero(70),
  // Three-decimal currencies: Stripe requires the last digit to be 0.
  bhd: three(200),
  jod: three(400),
  kwd: three(200),
  omr: three(200),
  tnd: three(1600),
}

export const SUPPORTED_CURRENCIES = Object.keys(RULES).sort()

/**
 * A currency as the API answers it: lower case, one of those a code can be created with. Only
 * answers declare the list as an enum: requests take any case (codes/schemas.ts).
 */
export const StoredCurrency = z
  .enum(SUPPORTED_CURRENCIES as [string, ...string[]])
  .openapi({ example: 'eur', description: 'ISO 4217, lower case.' })

export function currencyRule(currency: string): CurrencyRule | undefined {
  return RULES[currency.toLowerCase()]
}

/** Why an amount is not chargeable in a currency, or undefined when it is. */
export function amountProblem(amount: number, currency: string): string | undefined {
  const rule = currencyRule(currency)
  if (!rule) return `currency "${currency}" is not supported`
  if (!Number.isSafeInteger(amount)) return 'amount must be an integer in minor units'
  if (amount < rule.min) {
    return `amount must be at least ${rule.min} (${formatMinor(rule.min, currency)}) for ${currency.toUpperCase()}`
  }
  if (amount > MAX_AMOUNT) return `amount must be at most ${MAX_AMOUNT} minor units`
  if (rule.exponent === 3 && amount % 10 !== 0) {
    return `${currency.toUpperCase()} amounts must end in 0 (Stripe charges three-decimal currencies in steps of 10)`
  }
  return undefined
}

/** Formats minor units for people, honouring the currency's exponent. */
export function formatMinor(amount: number, currency: string, locale = 'en'): string {
  const rule = currencyRule(currency)
  const exponent = rule?.exponent ?? 2
  const value = amount / 10 ** exponent
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  }).format(value)
}

interface NumberStyle {
  /** Grouping and decimal symbols, as the locale writes them ("٬" and "٫" in Arabic script). */
  group: string
  decimal: string
  /** The locale's own digits 0–9 (Latin in most locales, Arabic-Indic or Devanagari in some). */
  digits: string[]
  /**
   * The locale writes plain numbers with other separators than money (en-DE: "1.500,5" but
   * "€1,500.50"), so a lone separator before three digits can be read either way there.
   */
  mixed: boolean
}

const separatorsOf = (parts: Intl.NumberFormatPart[]) => {
  const symbol = (type: string, fallback: string) =>
    parts.find((p) => p.type === type)?.value ?? fallback
  return { group: symbol('group', ','), decimal: symbol('decimal', '.') }
}

/**
 * How `formatMinor` writes amounts of `currency` in `locale`: the same currency formatter, since
 * in some locales it groups and separates decimals differently from plain numbers (en-DE writes
 * "1,500.25" for money but "1.500,25" for numbers).
 */
function numberStyle(locale: string, currency: string): NumberStyle {
  const money = separatorsOf(
    new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: currency.toUpperCase(),
      minimumFractionDigits: 1,
      maximumFractionDigits: 1,
    }).formatToParts(12345.6),
  )
  const plain = new Intl.NumberFormat(locale, { minimumFractionDigits: 1 })
  const number = separatorsOf(plain.formatToParts(12345.6))
  const digits = new Intl.NumberFormat(locale, { useGrouping: false })
  return {
    ...money,
    digits: Array.from({ length: 10 }, (_, d) => digits.format(d)),
    mixed: number.group !== money.group || number.decimal !== money.decimal,
  }
}

const ARABIC_SEPARATOR = /[\u066b\u066c]/

/**
 * ASCII digits for the locale's own, for full-width ones (a Japanese keyboard) and for both
 * Arabic-Indic sets whatever the locale.
 */
function toAscii(text: string, digits: string[]): string {
  const mapped = Array.from(text, (char) => {
    const own = digits.indexOf(char)
    if (own >= 0) return String(own)
    const code = char.codePointAt(0) ?? 0
    for (const zero of [0xff10, 0x0660, 0x06f0]) {
      if (code >= zero && code <= zero + 9) return String(code - zero)
    }
    return char
  }).join('')
  return mapped
}

/** Spaces and apostrophes only ever group digits ("1 500", "1'500"), in threes. */
const GROUPING_ONLY = /[\s\u00a0\u202f'\u2019]/g

/**
 * Reads an amount a customer (or a merchant, in the admin) typed in major units into minor units,
 * the way the page showed amounts in `locale`: "1,500.50" in en and "1.500,50" in de are both
 * 150050 cents. Whatever could be read as two different amounts is refused, never guessed: read
 * the other way, a three-decimal currency would be charged a thousand times too little or too much.
 * - A lone "." or "," followed by exactly three digits ("1,500") is what the locale makes it:
 *   grouping where it groups with that symbol (en "1,500" = 1500), the decimal point where it is
 *   the decimal point (de "1,500" = 1.5). It is refused where the locale uses it for neither (fr,
 *   or an Arabic-script locale, whose own symbols are "٬" and "٫"), in locales whose plain numbers
 *   use other separators than their money (en-DE) for a three-decimal currency, and when what
 *   comes before it cannot be a group ("01,500", "1500,500" in en) unless it is "0".
 * - Any other lone separator is the decimal point ("12,50" is 12.50 in every locale), and so is
 *   the locale's own decimal symbol when it is neither ("1$500" in pt-CV is 1.5).
 * - Spaces and apostrophes group in threes only ("1 500", "1'500"); "12 50" is refused.
 * - The Arabic "٫" is a decimal point and "٬" groups, in any locale; mixed with "." or ",", the
 *   amount is refused.
 * Returns a message instead when the text is not such an amount, or has more decimals than the
 * currency.
 */
export function parseMajorAmount(raw: string, currency: string, locale = 'en'): number | string {
  const rule = currencyRule(currency)
  if (!rule) return `currency "${currency}" is not supported`
  const { group, decimal: own, digits, mixed } = numberStyle(locale, currency)
  // Which of "." and "," is this locale's decimal point (for the messages too); Arabic-script
  // and other symbols (pt-CV's "$") count as "." here.
  const decimal = own === ',' ? ',' : '.'
  const example = `Enter an amount such as 12${decimal}50`
  let text = toAscii(raw.trim(), digits).replace(GROUPING_ONLY, ' ')
  // The locale's own decimal symbol when it is not "." or "," or Arabic: typed, it is one.
  const ownPoint = own !== '.' && own !== ',' && own !== '\u066b' && text.includes(own)
  if (ownPoint) text = text.split(own).join('.')
  if (text.includes(' ')) {
    const first = text.search(/[.,\u066b\u066c]/)
    const integer = first < 0 ? text : text.slice(0, first)
    if (first >= 0 && text.slice(first).includes(' ')) return example
    if (!grouped(integer, ' ')) return example
    text = text.split(' ').join('')
  }
  if (!/^\d[\d.,\u066b\u066c]*$/.test(text) || /[.,\u066b\u066c]$/.test(text)) return example
  const dot = text.lastIndexOf('.')
  const comma = text.lastIndexOf(',')
  let whole: string
  let fraction = ''
  if (ARABIC_SEPARATOR.test(text)) {
    // The Arabic decimal point (٫) and thousands separator (٬) mean one thing in every locale, so
    // they are read as such, never as the locale's "." or ","; mixed with those, nothing is sure.
    const [integer = '', decimals, ...rest] = text.split('\u066b')
    if (rest.length || dot >= 0 || comma >= 0) return example
    if (decimals !== undefined && !/^\d+$/.test(decimals)) return example
    whole = integer.includes('\u066c') ? grouped(integer, '\u066c') : integer
    fraction = decimals ?? ''
  } else if (dot >= 0 && comma >= 0) {
    // Both: the last one is the decimal point, the other groups digits in threes.
    const point = dot > comma ? '.' : ','
    const at = Math.max(dot, comma)
    whole = grouped(text.slice(0, at), point === '.' ? ',' : '.')
    fraction = text.slice(at + 1)
    if (!/^\d+$/.test(fraction)) return example
  } else if (dot >= 0 || comma >= 0) {
    const symbol = dot >= 0 ? '.' : ','
    const pieces = text.split(symbol)
    const [head = '', tail = ''] = pieces
    const lone = pieces.length === 2
    const threeAfter = lone && /^\d{3}$/.test(tail)
    // Grouped numbers never start with 0: "0.200" is a decimal wherever it is typed.
    const looksGrouped = threeAfter && /^[1-9]\d{0,2}$/.test(head)
    const isGroup = symbol === group
    const isPoint = symbol === decimal || (ownPoint && symbol === '.')
    // Both readings would be amounts: see above.
    const ambiguous =
      !(ownPoint && symbol === '.') &&
      threeAfter &&
      head !== '0' &&
      (looksGrouped ? (!isGroup && !isPoint) || (mixed && rule.exponent === 3) : !isPoint)
    if (ambiguous) {
      return `Write the amount without a thousands separator, such as 1500 or 1500${decimal}00`
    }
    if (!lone || (looksGrouped && isGroup && !isPoint)) {
      whole = grouped(text, symbol)
    } else {
      whole = head
      fraction = tail
    }
  } else {
    whole = text
  }
  if (!/^\d{1,9}$/.test(whole)) return example
  if (fraction.length > rule.exponent) {
    return rule.exponent === 0
      ? `${currency.toUpperCase()} amounts have no decimals`
      : `Use at most ${rule.exponent} decimals`
  }
  return Number(whole) * 10 ** rule.exponent + Number(fraction.padEnd(rule.exponent, '0') || '0')
}

/**
 * Digits grouped by `symbol` without it: in threes ("1,500,000"), or in twos then a final three as
 * in India ("15,00,000"), never starting with 0; "" when the groups are anything else.
 */
function grouped(text: string, symbol: string): string {
  const s = `\\${symbol}`
  const pattern = new RegExp(`^[1-9]\\d{0,2}(?:(?:${s}\\d{3})*|(?:${s}\\d{2})+${s}\\d{3})$`)
  return pattern.test(text) ? text.split(symbol).join('') : ''
}
