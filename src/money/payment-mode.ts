/**
 * The two payment modes (docs/configuration.md, "Payment modes"): who is paid, and the platform's
 * fee, from configuration and a merchant's row alone (no I/O: codes, pages and payments share
 * it). *One business*: every code pays this deployment's own Stripe account, as before Connect. *Platform*: every merchant connects its
 * own Stripe account, and its codes' Checkout Sessions are direct charges on that account (the
 * `Stripe-Account` header), with the platform's fee as `application_fee_amount`. Chosen only by
 * `PAYMENT_MODE`: who receives the money never changes because a secret happens to be set.
 */
import type { Bindings } from '../env'

export type PaymentMode = 'one_business' | 'platform'

/** The deployment's mode; null when `PAYMENT_MODE` holds anything else (nothing is then payable). */
export function paymentMode(env: Bindings): PaymentMode | null {
  const mode = String(env.PAYMENT_MODE ?? '').trim()
  if (mode === '' || mode === 'one_business') return 'one_business'
  if (mode === 'platform') return 'platform'
  return null
}

/** Why a merchant's codes cannot take payments now (the API's `payable_reason`). */
export const PAYABLE_REASONS = [
  /** `PAYMENT_MODE` or the platform fee is misconfigured: the operator must fix it. */
  'payments_not_configured',
  /** Platform mode, and the merchant has not connected a Stripe account yet. */
  'no_payment_account',
  /** Connected, but Stripe does not let the account take charges (yet, or any more). */
  'account_not_ready',
] as const
export type PayableReason = (typeof PAYABLE_REASONS)[number]

/** What of a merchant decides whether its codes can be paid. */
export interface MerchantAccount {
  stripeAccountId: string | null
  stripeChargesEnabled: boolean
}

/** `account`: the connected account a session is created on; null for the deployment's own. */
export type Payability =
  | { payable: true; account: string | null }
  | { payable: false; reason: PayableReason }

/**
 * Whether this merchant's codes can take a payment now, and on which account. Read from D1 only:
 * no Stripe call, so a page or the API can ask on every request.
 */
export function payability(env: Bindings, merchant: MerchantAccount): Payability {
  const mode = paymentMode(env)
  if (mode === null || platformFeeTerms(env) === null) {
    return { payable: false, reason: 'payments_not_configured' }
  }
  // One business: the deployment's own account, whatever a merchant connected in platform mode.
  if (mode === 'one_business') return { payable: true, account: null }
  if (!merchant.stripeAccountId) return { payable: false, reason: 'no_payment_account' }
  if (!merchant.stripeChargesEnabled) return { payable: false, reason: 'account_not_ready' }
  return { payable: true, account: merchant.stripeAccountId }
}

export interface FeeTerms {
  /** Basis points of the amount: 100 = 1 %. */
  bps: number
  /** A fixed part per currency (lower-case ISO 4217), in that currency's minor units. */
  fixed: Map<string, number>
}

const BPS = /^\d{1,5}$/
const FIXED_PART = /^([a-z]{3}):(\d{1,9})$/

/**
 * `PLATFORM_FEE_BPS` (0–10000, default 0) and `PLATFORM_FEE_FIXED` (`eur:30,usd:30`; a currency
 * not listed has no fixed part); null when either cannot be read, so no payment starts with a
 * fee nobody meant.
 */
export function platformFeeTerms(env: Bindings): FeeTerms | null {
  const bpsText = String(env.PLATFORM_FEE_BPS ?? '').trim() || '0'
  if (!BPS.test(bpsText) || Number(bpsText) > 10_000) return null
  const fixed = new Map<string, number>()
  for (const part of String(env.PLATFORM_FEE_FIXED ?? '').split(',')) {
    const text = part.trim().toLowerCase()
    if (!text) continue
    const match = FIXED_PART.exec(text)
    if (!match?.[1] || match[2] === undefined || fixed.has(match[1])) return null
    fixed.set(match[1], Number(match[2]))
  }
  return { bps: Number(bpsText), fixed }
}

/**
 * The platform's fee on a payment, in its minor units: the basis points rounded down (in the
 * merchant's favour) plus the currency's fixed part, never more than the amount. 0 = no fee.
 */
export function platformFee(terms: FeeTerms, amount: number, currency: string): number {
  const fee = Math.floor((amount * terms.bps) / 10_000) + (terms.fixed.get(currency) ?? 0)
  return Math.min(fee, amount)
}
