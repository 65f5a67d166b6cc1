/**
 * Refunding a paid payment: reserve the amount in D1 (the guard, refund-queries.ts), then ask
 * the payment's provider with our refund id as the idempotency key, then apply its confirmed
 * answer through the same path as its events (`applyRefundUpdate`).
 *
 * When the provider cannot be reached the reservation is released (the refund is `failed`, with
 * no Stripe id), so nothing stays held by a caller who never retries; a retry with the same
 * `Idempotency-Key` takes the same refund back to `pending` (under the same guard) and sends it
 * with the same idempotency key, so Stripe refunds at most once. Should Stripe have made it after
 * all, its events carry our refund id and are applied over the local failure.
 */
import type { Payment, Refund, RefundReason } from '../db/schema'
import { log } from '../lib/log'
import type { PaymentContext } from './context'
import { settleInHub } from './events'
import { ProviderError } from './provider'
import { type RefundOptions, RefundRefused, refundProvider } from './refund-provider'
import {
  applyRefundUpdate,
  releaseRefund,
  remainingAmount,
  rememberProviderPayment,
  reReserveRefund,
  reserveRefund,
} from './refund-queries'

/**
 * A refund still `pending` without Stripe's id this long after it was reserved was never answered
 * (the request died between D1 and Stripe): a retry with its key sends it again.
 */
const STALLED_AFTER_MS = 30_000

export interface RefundRequest {
  /** Minor units; null refunds all that remains. */
  amount: number | null
  reason: RefundReason | null
  idempotencyKey: string | null
  actor: string
  /**
   * Give the payment's slot of a limited code back once the payment is fully refunded (by this
   * refund or a later one): the code can be paid again. Recorded on the refund with its actor.
   */
  reopenSlot?: boolean
}

export type RefundOutcome =
  | { kind: 'created'; refund: Refund; payment: Payment; replayed: boolean }
  | { kind: 'not_refundable' }
  | { kind: 'exceeds'; remaining: number }
  /** The same Idempotency-Key was used for another amount or reason on this payment. */
  | { kind: 'key_reused'; refund: Refund }
  | { kind: 'refused'; refund: Refund; message: string }
  | { kind: 'unavailable'; refund: Refund; message: string }

/** A payment is refunded on the account it was made on: a connected one in platform mode. */
export const accountOptions = (payment: Payment): RefundOptions =>
  payment.stripeAccount ? { stripeAccount: payment.stripeAccount } : {}

export async function refundPayment(
  ctx: PaymentContext,
  payment: Payment,
  request: RefundRequest,
  options: RefundOptions = accountOptions(payment),
): Promise<RefundOutcome> {
  const reservation = await reserveRefund(ctx.db, {
    paymentId: payment.id,
    merchantId: payment.merchantId,
    amount: request.amount,
    reason: request.reason,
    idempotencyKey: request.idempotencyKey,
    actor: request.actor,
    reopenSlot: request.reopenSlot ?? false,
  })
  if (reservation.kind === 'not_refundable' || reservation.kind === 'exceeds') return reservation
  const refund = reservation.refund
  if (reservation.kind === 'existing') {
    const sameBody =
      (request.amount === null || request.amount === refund.amount) &&
      request.reason === refund.reason &&
      (request.reopenSlot ?? false) === refund.reopenSlot
    if (!sameBody) return { kind: 'key_reused', refund }
    // Stripe confirmed it, or another request is sending it now: the same answer again.
    const inFlight = refund.status === 'pending' && Date.now() - refund.updatedAt < STALLED_AFTER_MS
    if (refund.providerRefundId || inFlight) {
      return { kind: 'created', refund, payment, replayed: true }
    }
    // Released after Stripe could not be reached (or stalled before it was asked): send it again
    // with the same id, if it still fits. Stripe's idempotency key makes a second send harmless.
    if (refund.status === 'failed' && !(await reReserveRefund(ctx.db, refund))) {
      return { kind: 'exceeds', remaining: await remainingAmount(ctx.db, payment.id) }
    }
  }

  return sendRefund(ctx, payment, refund, options, 'release')
}

/**
 * Asks the payment's provider for a reserved refund (our refund id is Stripe's idempotency key,
 * so sending it again is harmless) and applies its answer. When the provider cannot be reached,
 * `release` frees the reservation (the caller was told to retry), `keep` leaves it pending for
 * the hourly retry (refund-retry.ts).
 */
export async function sendRefund(
  ctx: PaymentContext,
  payment: Payment,
  reserved: Refund,
  options: RefundOptions,
  unreachable: 'release' | 'keep',
): Promise<RefundOutcome> {
  let refund = reserved
  let provider: ReturnType<typeof refundProvider>
  try {
    provider = refundProvider(ctx.env, payment)
    const answer = await provider.createRefund(
      {
        refundId: refund.id,
        paymentId: payment.id,
        providerPaymentId: payment.providerPaymentId,
        sessionId: payment.sessionId,
        amount: refund.amount,
        currency: refund.currency,
        reason: refund.reason,
      },
      options,
    )
    if (answer.providerPaymentId && !payment.providerPaymentId) {
      await rememberProviderPayment(ctx.db, payment.id, answer.providerPaymentId)
    }
    const applied = await applyRefundUpdate(ctx.db, {
      eventId: `answer:${answer.providerRefundId}:${answer.status}`,
      provider: provider.name,
      type: 'refund.answer',
      providerRefundId: answer.providerRefundId,
      refundId: refund.id,
      providerPaymentId: answer.providerPaymentId,
      amount: answer.amount,
      currency: answer.currency,
      status: answer.status,
      reason: refund.reason,
      failureReason: answer.failureReason,
    })
    if (!applied.payment) {
      // Stripe answered for another amount or currency than we asked: nothing is applied; its
      // events will say what happened. Shown as still pending.
      log.error('refund answer not applied', { refundId: refund.id, reason: applied.reason })
      return { kind: 'created', refund, payment, replayed: false }
    }
    refund = applied.refund ?? refund
    await settleInHub(ctx, payment.id)
    return { kind: 'created', refund, payment: applied.payment, replayed: false }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    if (err instanceof RefundRefused) {
      await releaseRefund(ctx.db, refund.id, message)
      log.warn('refund refused', { refundId: refund.id, paymentId: payment.id }, err)
      return { kind: 'refused', refund: { ...refund, status: 'failed' }, message }
    }
    if (err instanceof ProviderError) {
      if (unreachable === 'keep') return { kind: 'unavailable', refund, message }
      await releaseRefund(ctx.db, refund.id, `Not sent: ${message}`)
      log.error('refund not sent', { refundId: refund.id, paymentId: payment.id }, err)
      return { kind: 'unavailable', refund: { ...refund, status: 'failed' }, message }
    }
    // Anything else (a D1 failure after Stripe answered): the row stays pending, the events and
    // a retry with the same key settle it.
    throw err
  }
}
