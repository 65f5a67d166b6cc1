/**
 * Rules a code must satisfy beyond its JSON shape. Create and update both end here, on the merged
 * result, so a code can never be saved in a state the create path would refuse.
 */
import { ApiError, type FieldError } from '../errors'
import { isProduction } from '../lib/environment'
import { internalHostRule } from '../lib/internal-hosts'
import { RESERVED_SLUGS } from '../lib/paths'
import { amountProblem, currencyRule } from '../money/currency'

export const MAX_URL_LENGTH = 2048

export interface CodeContent {
  action: 'redirect' | 'checkout'
  destinationUrl: string | null
  allowHttp: boolean
  currency: string | null
  amount: number | null
  amountMin: number | null
  amountMax: number | null
  description: string | null
}

/**
 * Where a destination may point. In production only at the public internet: a printed code must
 * not send phones to loopback, private, link-local or metadata addresses. Elsewhere also at this
 * machine and local networks, for testing against a local server.
 */
export interface DestinationRules {
  internalHosts: boolean
}

/** The strict rules, also what callers get when they pass none. */
export const PUBLIC_DESTINATIONS: DestinationRules = { internalHosts: false }

export function destinationRules(env: { ENVIRONMENT?: string }): DestinationRules {
  return { internalHosts: !isProduction(env) }
}

/** Lower-cases a vanity slug and refuses the reserved ones. */
export function normalizeSlug(slug: string): string {
  const lower = slug.toLowerCase()
  if (RESERVED_SLUGS.has(lower)) {
    throw new ApiError(
      409,
      'slug_reserved',
      `"${lower}" is used by qrcheckout itself; pick another slug.`,
    )
  }
  return lower
}

/**
 * Parses and normalises a destination: https only (http when opted in), no credentials, no
 * fragments of other schemes. The stored form is the WHATWG serialisation: punycode host,
 * percent-encoded path, so it is plain ASCII and encodes in any QR symbol.
 */
export function normalizeDestination(
  raw: string,
  allowHttp: boolean,
  rules: DestinationRules = PUBLIC_DESTINATIONS,
): string | FieldError {
  const at = 'body.destination_url'
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return { path: at, message: 'destination_url is not an absolute URL' }
  }
  if (url.protocol === 'http:' && !allowHttp) {
    return { path: at, message: 'destination_url must use https (set allow_http to accept http)' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return {
      path: at,
      message: `destination_url scheme "${url.protocol}" is not allowed; use https`,
    }
  }
  if (url.username || url.password) {
    return { path: at, message: 'destination_url must not contain credentials' }
  }
  // Before the host name's shape: "[::1]" is one label, but what is wrong with it is where it points.
  const internal = rules.internalHosts ? undefined : internalHostRule(url.hostname)
  if (internal) {
    return {
      path: at,
      message: `destination_url must be a public address; ${url.hostname} is ${internal}`,
    }
  }
  // At least two labels, none empty ("https://./" and "https://a..b/" parse as URLs).
  const labels = url.hostname.replace(/\.$/, '').split('.')
  if (url.hostname !== 'localhost' && (labels.length < 2 || labels.some((label) => !label))) {
    return { path: at, message: 'destination_url needs a full host name' }
  }
  if (url.href.length > MAX_URL_LENGTH) {
    return {
      path: at,
      message: `destination_url is at most ${MAX_URL_LENGTH} characters once encoded`,
    }
  }
  return url.href
}

/** Validates and normalises a code's content; throws one 400 listing every problem. */
export function checkContent(
  content: CodeContent,
  rules: DestinationRules = PUBLIC_DESTINATIONS,
): CodeContent {
  const errors: FieldError[] = []
  const out = { ...content }
  if (content.action === 'redirect') {
    for (const [field, value] of [
      ['currency', content.currency],
      ['amount', content.amount],
      ['amount_min', content.amountMin],
      ['amount_max', content.amountMax],
      ['description', content.description],
    ] as const) {
      if (value !== null)
        errors.push({ path: `body.${field}`, message: `${field} applies to checkout codes only` })
    }
    if (content.destinationUrl === null) {
      errors.push({
        path: 'body.destination_url',
        message: 'a redirect code needs destination_url',
      })
    } else {
      const normalized = normalizeDestination(content.destinationUrl, content.allowHttp, rules)
      if (typeof normalized === 'string') out.destinationUrl = normalized
      else errors.push(normalized)
    }
  } else {
    if (content.destinationUrl !== null) {
      errors.push({
        path: 'body.destination_url',
        message: 'destination_url applies to redirect codes only',
      })
    }
    if (content.allowHttp) {
      errors.push({ path: 'body.allow_http', message: 'allow_http applies to redirect codes only' })
    }
    errors.push(...checkAmounts(content))
  }
  if (errors.length)
    throw new ApiError(400, 'validation_failed', errors.map((e) => e.message).join('; '), errors)
  return out
}

function checkAmounts(c: CodeContent): FieldError[] {
  const currency = c.currency ?? ''
  if (!currencyRule(currency))
    return [{ path: 'body.currency', message: 'a checkout code needs a supported currency' }]
  const fixed = c.amount !== null
  const open = c.amountMin !== null || c.amountMax !== null
  if (fixed && open) {
    return [
      {
        path: 'body.amount',
        message: 'give either amount (fixed) or amount_min and amount_max (open), not both',
      },
    ]
  }
  if (!fixed && !open) {
    return [
      {
        path: 'body.amount',
        message: 'give amount (fixed) or amount_min and amount_max (open amount)',
      },
    ]
  }
  const errors: FieldError[] = []
  const check = (field: string, value: number | null) => {
    if (value === null)
      return errors.push({
        path: `body.${field}`,
        message: `${field} is required for an open amount`,
      })
    const problem = amountProblem(value, currency)
    if (problem) errors.push({ path: `body.${field}`, message: `${field}: ${problem}` })
  }
  if (fixed) check('amount', c.amount)
  else {
    check('amount_min', c.amountMin)
    check('amount_max', c.amountMax)
    if (!errors.length && (c.amountMin ?? 0) > (c.amountMax ?? 0)) {
      errors.push({ path: 'body.amount_min', message: 'amount_min must not exceed amount_max' })
    }
  }
  return errors
}

/** Fields a static code can never change after creation (its printed symbol depends on them). */
export const CONTENT_FIELDS = [
  'destination_url',
  'allow_http',
  'currency',
  'amount',
  'amount_min',
  'amount_max',
  'description',
] as const
