/**
 * Starting a payment: from a checkout code's pay form to the provider's hosted checkout. The
 * payment is recorded pending, its code's hub holds it a slot, then the provider opens a session.
 * Nothing here marks a payment paid: only the provider's verified event does (events.ts). Each way
 * it can end is a case of PaymentStart, which the pay route turns into a page.
 */
import type { ResolvedCode } from '../codes/queries'
import type { Payment } from '../db/schema'
import { hubFor } from '../hub/client'
import { newId } from '../lib/ids'
import { log } from '../lib/log'
import { amountProblem, formatMinor, parseMajorAmount } from '../money/currency'
import { payability, platformFee, platformFeeTerms } from '../money/payment-mode'
import type { PaymentContext } from './context'
import { HOLD_GRACE_MS } from './effects'
import { priceShown } from './price-shown'
import { type PaymentProvider, ProviderError, type ProviderName } from './provider'
import {
  attachSession,
  discardUnopened,
  failBeforeCheckout,
  findLinkedPayment,
  insertPayment,
} from './queries'
import { paymentProvider } from './select'
import { closeSession } from './sessions'

/** Stripe accepts 30 minutes to 24 hours; a minute over the minimum absorbs clock skew. */
export const SESSION_TTL_MS = 31 * 60 * 1000

/** A code that takes payments: a checkout code with its currency and description. */
export type CheckoutCode = ResolvedCode & { currency: string; description: string }

export function asCheckoutCode(code: ResolvedCode | undefined): CheckoutCode | undefined {
  if (code?.action !== 'checkout' || !code.currency || !code.description) return undefined
  return code as CheckoutCode
}

/** The pay form as the customer sent it. */
export interface PayForm {
  /** The `priceShown` of the page the form came from; undefined when the form did not say. */
  price: string | undefined
  /** What was typed as the amount, for a code without a fixed one. */
  amount: string
  /** The locale the page was shown in, which the amount typed follows. */
  locale: string
}

/** Who is paying, from the request. */
export interface Payer {
  /** Their address, to bound the sessions one customer opens (the connecting IP). */
  address: string
  /** Their latest payment (from their cookie), whose slot a new press may take over. */
  previousPaymentId: string | undefined
}

export type PaymentStart =
  /** A session is open: send the customer there. */
  | { kind: 'checkout'; url: string; paymentId: string }
  /**
   * Nothing opened, and the customer can only wait or give up; `merchant_not_ready`: the
   * merchant's Stripe account cannot take charges (platform mode), known without asking Stripe.
   */
  | { kind: 'refused'; reason: 'sold_out' | 'busy' | 'rate_limited' | 'merchant_not_ready' }
  /** The checkout page again, with why nothing was charged. */
  | { kind: 'reshow'; status: 400 | 409 | 422; error: string }
  /**
   * We could not: payments are not configured, or a write or the hub's answer was lost
   * (interrupted), or the provider did not open a session.
   */
  | { kind: 'unavailable'; reason: 'not_configured' | 'interrupted' | 'provider_failed' }

export async function startPayment(
  ctx: PaymentContext,
  code: CheckoutCode,
  form: PayForm,
  payer: Payer,
): Promise<PaymentStart> {
  const { env, db } = ctx
  // Whom the money goes to (the deployment, or the merchant's connected account), from D1: a
  // merchant Stripe would refuse is told so here, before anything is recorded or sent.
  const payee = payability(env, code)
  if (!payee.payable) {
    if (payee.reason === 'payments_not_configured') {
      log.error('payments not configured', { codeId: code.id, reason: payee.reason })
      return { kind: 'unavailable', reason: 'not_configured' }
    }
    return { kind: 'refused', reason: 'merchant_not_ready' }
  }
  // Nothing is charged but the price the customer was shown. The page was shown with another
  // price (edited meanwhile), or the form did not say which (not our page's): show it, charge nothing.
  if (form.price === undefined) return reshow(400, 'Check the price, then pay.')
  if (form.price !== priceShown(code)) {
    return reshow(409, 'The price changed while this page was open. Check it and pay again.')
  }
  const amount = code.amount ?? typedAmount(code, form)
  if (typeof amount === 'string') return reshow(422, amount)

  const payment = pendingPayment(code, amount, env.STRIPE_SECRET_KEY ? 'stripe' : 'test')
  payment.stripeAccount = payee.account
  const terms = platformFeeTerms(env)
  const applicationFee = payee.account && terms ? platformFee(terms, amount, code.currency) : 0
  let provider: PaymentProvider
  let base: string
  try {
    // Our base first: without one (production, no PUBLIC_BASE_URL) there is nowhere to send the
    // customer back to, so nothing is stored or asked of the provider.
    base = ctx.base
    provider = paymentProvider(env, db, base, payee.account)
  } catch (err) {
    log.error('payments unavailable', { codeId: code.id }, err)
    return { kind: 'unavailable', reason: 'not_configured' }
  }
  // Each press opens a Stripe session (Stripe itself limits us to 25/s in test mode): bound it per
  // customer and code. Scans are never limited; this only guards the paid-for action.
  const { success } = await env.PAY_LIMITER.limit({ key: `${payer.address}:${code.id}` })
  if (!success) return { kind: 'refused', reason: 'rate_limited' }

  // This customer's own earlier checkout of a limited code: once closed, the new reservation
  // takes over its slot in the same hub transaction (no one else can take it in between).
  let replaces: string | undefined
  if (code.maxPayments !== null && payer.previousPaymentId) {
    const own = await findLinkedPayment(db, payer.previousPaymentId)
    if (own?.payment.codeId === code.id && own.payment.status === 'pending') {
      if (await closeSession(ctx, own.payment)) replaces = own.payment.id
    }
  }

  // The payment is in D1 before its hub can hold a slot for it, so every hold has a row that
  // names it: one whose release fails is found and released by the hourly job (reconcile.ts).
  try {
    await insertPayment(db, payment)
  } catch (err) {
    log.error('payment not recorded', { paymentId: payment.id, codeId: code.id }, err)
    return { kind: 'unavailable', reason: 'interrupted' }
  }

  // The code's hub guards its limit under any concurrency: a slot is held before any session
  // exists, for as long as the session can be paid (plus a grace for a late webhook).
  // From now, not from the request's start: closing this customer's earlier session above may
  // have taken a while, and Stripe refuses an `expires_at` under 30 minutes ahead.
  const expiresAt = Date.now() + SESSION_TTL_MS
  const hub = hubFor(env, code.id)
  const hold = await hub
    .reservePayment({
      paymentId: payment.id,
      limit: code.maxPayments,
      holdUntil: expiresAt + HOLD_GRACE_MS[payment.provider],
      replaces,
    })
    .catch((err) => {
      log.error(
        'hub unavailable for a reservation',
        { codeId: code.id, paymentId: payment.id },
        err,
      )
      return null
    })
  /**
   * Gives up on this payment before a session is attached: frees its slot (a no-op for one the
   * hub never held), then marks it failed, which the hourly job releases again if the release
   * failed. The slot first: the D1 write may fail for the same reason the last one did.
   */
  const abandon = async (reason: string) => {
    await hub
      .settlePayment(payment.id, 'released')
      .catch((e) => log.error('release failed', { paymentId: payment.id, codeId: code.id }, e))
    await failBeforeCheckout(db, payment.id, reason).catch((e) =>
      log.error('payment left pending without a session', { paymentId: payment.id }, e),
    )
  }
  if (!hold) {
    // The hub may have held the slot and lost its answer.
    await abandon('The payment could not be reserved.')
    return { kind: 'unavailable', reason: 'interrupted' }
  }
  if (!hold.ok) {
    // Refused before anything was opened: not a payment attempt.
    await discardUnopened(db, payment.id).catch((e) =>
      log.error('refused payment left pending', { paymentId: payment.id }, e),
    )
    return { kind: 'refused', reason: hold.reason }
  }
  try {
    const session = await provider.createCheckout({
      paymentId: payment.id,
      amount,
      currency: code.currency,
      description: code.description,
      merchantName: code.merchantName,
      successUrl: `${base}/${code.slug}/return/${payment.id}`,
      cancelUrl: `${base}/${code.slug}/cancel/${payment.id}`,
      expiresAt,
      applicationFee,
      metadata: { payment_id: payment.id, code_id: code.id, merchant_id: code.merchantId },
    })
    await attachSession(db, payment.id, session.id, expiresAt)
    return { kind: 'checkout', url: session.url, paymentId: payment.id }
  } catch (err) {
    const reason = err instanceof ProviderError ? err.message : 'checkout could not be created'
    log.error('checkout not created', { paymentId: payment.id, codeId: code.id }, err)
    await abandon(reason)
    return { kind: 'unavailable', reason: 'provider_failed' }
  }
}

/** A new payment of `amount` to the code, pending until its provider's event says otherwise. */
function pendingPayment(code: CheckoutCode, amount: number, provider: ProviderName): Payment {
  const at = Date.now()
  return {
    id: newId('pay'),
    merchantId: code.merchantId,
    codeId: code.id,
    codeVersion: code.version,
    amount,
    currency: code.currency,
    description: code.description,
    // Who is paid as the customer saw it now: what the receipt shows, whatever changes later.
    merchantName: code.merchantName,
    merchantDomain: code.merchantDomain,
    status: 'pending',
    provider,
    sessionId: null,
    sessionExpiresAt: null,
    receiptId: newId('rcpt'),
    customerEmail: null,
    methodBrand: null,
    methodLast4: null,
    failureReason: null,
    createdAt: at,
    updatedAt: at,
    paidAt: null,
    holdCheckedAt: null,
    holdKeptAt: null,
    stripeAccount: null,
    providerPaymentId: null,
    refundedAmount: 0,
    disputeId: null,
    disputeStatus: null,
    disputeAmount: null,
    disputeUpdatedAt: null,
    slotReopenedAt: null,
  }
}

const reshow = (status: 400 | 409 | 422, error: string): PaymentStart => ({
  kind: 'reshow',
  status,
  error,
})

/** The amount typed for a code without a fixed one, in minor units; a string says why not. */
function typedAmount(code: CheckoutCode, form: PayForm): number | string {
  const parsed = parseMajorAmount(form.amount, code.currency, form.locale)
  if (typeof parsed === 'string') return parsed
  const money = (minor: number) => formatMinor(minor, code.currency, form.locale)
  if (parsed < (code.amountMin ?? 0)) {
    return `The amount must be at least ${money(code.amountMin ?? 0)}`
  }
  if (parsed > (code.amountMax ?? 0)) {
    return `The amount must be at most ${money(code.amountMax ?? 0)}`
  }
  return amountProblem(parsed, code.currency) || parsed
}
