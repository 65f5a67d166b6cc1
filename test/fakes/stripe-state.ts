/**
 * What the fake Stripe remembers, and the pieces every resource of it shares: ids, Stripe's error
 * shape, and who owns an object (the platform, or the connected account named by `Stripe-Account`).
 */
import { randomBytes } from 'node:crypto'

export type Json = Record<string, unknown>

/** `null`: the platform (no `Stripe-Account` header); else the connected account's `acct_…` id. */
export type Owner = string | null

export interface RecordedRequest {
  method: string
  path: string
  params: Json
  idempotencyKey: string | null
  authorization: string | null
  /** The `Stripe-Account` header: the connected account the call was made for. */
  stripeAccount: string | null
}

/** What a Checkout Session was created with that the session object does not show. */
export interface ChargeTerms {
  applicationFeeAmount: number | null
  /** `payment_intent_data[transfer_data][destination]`: a destination charge's account. */
  destination: string | null
  /** `payment_intent_data[metadata]`, copied onto the payment intent and its charge. */
  metadata: Json
  description: string | null
}

export interface FakeState {
  sessions: Map<string, Json>
  sessionTerms: Map<string, ChargeTerms>
  paymentIntents: Map<string, Json>
  charges: Map<string, Json>
  /** Refund ids of each charge, newest first (a charge lists its refunds that way). */
  chargeRefunds: Map<string, string[]>
  refunds: Map<string, Json>
  disputes: Map<string, Json>
  applicationFees: Map<string, Json>
  accounts: Map<string, Json>
  /** Every object's owner; objects of the platform map to null. */
  owners: Map<string, Owner>
  /** The API request that caused an object (an event's `request`), when one did. */
  causes: Map<string, { id: string; idempotency_key: string | null }>
  /** What the last control call changed on an object: an `*.updated` event's previous_attributes. */
  previous: Map<string, Json>
  /** (owner, idempotency key) → [method, path and body, response]. */
  idempotency: Map<string, [string, Json]>
  requests: RecordedRequest[]
  /** The next `times` API requests (default 1) fail with this status and error type. */
  failNext: { status: number; type: string; times?: number } | null
  /** The next refund created is answered `pending` and then fails with this reason. */
  failNextRefund: { failure_reason: string } | null
}

export function newState(): FakeState {
  return {
    sessions: new Map(),
    sessionTerms: new Map(),
    paymentIntents: new Map(),
    charges: new Map(),
    chargeRefunds: new Map(),
    refunds: new Map(),
    disputes: new Map(),
    applicationFees: new Map(),
    accounts: new Map(),
    owners: new Map(),
    causes: new Map(),
    previous: new Map(),
    idempotency: new Map(),
    requests: [],
    failNext: null,
    failNextRefund: null,
  }
}

export const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`

export const now = () => Math.floor(Date.now() / 1000)

/** One API call as a resource handler sees it. */
export interface Call {
  state: FakeState
  method: string
  params: Json
  /** The `Stripe-Account` header, already checked to name a known account. */
  account: Owner
  requestId: string
  idempotencyKey: string | null
}

/** A refusal in Stripe's error shape (`{ error: { type, code, message, param, doc_url } }`). */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly options: { type?: string; code?: string; param?: string } = {},
  ) {
    super(message)
  }

  get body() {
    const { type = 'invalid_request_error', code, param } = this.options
    return {
      error: {
        type,
        message: this.message,
        ...(code
          ? { code, doc_url: `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}` }
          : {}),
        ...(param ? { param } : {}),
      },
    }
  }
}

export const invalid = (message: string, param?: string, code?: string) =>
  new StripeApiError(400, message, {
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
  })

/** Stripe's 404 for an id that does not exist, or that the caller's account cannot see. */
export const missing = (kind: string, id: string, param = 'id') =>
  new StripeApiError(404, `No such ${kind}: '${id}'`, { code: 'resource_missing', param })

/**
 * The object with this id if the caller may see it: as in Stripe, an object made under a connected
 * account is invisible from the platform and from every other account (404, resource_missing).
 */
export function visible(
  state: FakeState,
  map: Map<string, Json>,
  id: string,
  account: Owner,
  kind: string,
  param = 'id',
): Json {
  const object = map.get(id)
  if (!object || (state.owners.get(id) ?? null) !== account) throw missing(kind, id, param)
  return object
}

export const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
])
export const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd'])

/** An amount in minor units as Stripe's messages write it ("$4.50", "¥450", "KWD 1.250"). */
export function money(amount: number, currency: string) {
  const exponent = ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  }).format(amount / 10 ** exponent)
}

/** A form value that must be a whole number of minor units, or undefined when absent. */
export function integerParam(params: Json, name: string, label = name): number | undefined {
  const value = params[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw invalid(`Invalid integer: ${String(value)}`, label, 'parameter_invalid_integer')
  }
  return Number(value)
}

/** An empty Stripe list of `url`. */
export const list = (url: string, data: Json[] = []) => ({
  object: 'list',
  data,
  has_more: false,
  url,
})
