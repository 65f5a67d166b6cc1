/**
 * Refunds through Stripe's API (`POST /v1/refunds` on the payment intent), keyed by our refund id
 * so the SDK's retries and ours never refund twice. Every call takes an optional connected
 * account (`stripeAccount`) for platform mode.
 */
import type Stripe from 'stripe'
import type { RefundReason, RefundStatus } from '../db/schema'
import type { Bindings } from '../env'
import { ProviderError } from './provider'
import type { RefundAnswer, RefundOptions, RefundOrder, RefundProvider } from './refund-provider'
import { RefundRefused } from './refund-provider'
import { loadStripe } from './stripe'

const STATUSES: Record<string, RefundStatus> = {
  pending: 'pending',
  requires_action: 'pending',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'canceled',
}

/** Stripe's refund in our words; an unknown status reads as pending (it can only move on). */
export function refundStatusOf(status: string | null | undefined): RefundStatus {
  return STATUSES[status ?? ''] ?? 'pending'
}

const REASONS = new Set<string>(['duplicate', 'fraudulent', 'requested_by_customer'])
export const refundReasonOf = (reason: string | null | undefined) =>
  reason && REASONS.has(reason) ? (reason as RefundReason) : null

export function answerOf(refund: Stripe.Refund): RefundAnswer {
  return {
    providerRefundId: refund.id,
    providerPaymentId:
      typeof refund.payment_intent === 'string'
        ? refund.payment_intent
        : (refund.payment_intent?.id ?? null),
    amount: refund.amount,
    currency: refund.currency,
    status: refundStatusOf(refund.status),
    failureReason: refund.failure_reason ?? null,
  }
}

const accountOf = (options?: RefundOptions) =>
  options?.stripeAccount ? { stripeAccount: options.stripeAccount } : {}

export function stripeRefunds(env: Bindings): RefundProvider {
  return {
    name: 'stripe',
    async createRefund(order: RefundOrder, options?: RefundOptions) {
      const { client } = await loadStripe(env)
      try {
        let intent = order.providerPaymentId
        if (!intent && order.sessionId) {
          const session = await client.checkout.sessions.retrieve(
            order.sessionId,
            {},
            accountOf(options),
          )
          intent =
            typeof session.payment_intent === 'string'
              ? session.payment_intent
              : (session.payment_intent?.id ?? null)
        }
        if (!intent) throw new RefundRefused('Stripe has no payment to refund for this session.')
        const refund = await client.refunds.create(
          {
            payment_intent: intent,
            amount: order.amount,
            ...(order.reason ? { reason: order.reason } : {}),
            metadata: { refund_id: order.refundId, payment_id: order.paymentId },
          },
          { idempotencyKey: order.refundId, ...accountOf(options) },
        )
        return answerOf(refund)
      } catch (err) {
        throw classify(err)
      }
    },
  }
}

/**
 * An answer that says no (4xx: the charge is disputed, already refunded…) refunded nothing; no
 * answer, a 5xx or a rate limit may have, or may not: the same refund id makes a retry safe.
 */
function classify(err: unknown): Error {
  if (err instanceof RefundRefused || err instanceof ProviderError) return err
  const status = (err as { statusCode?: number }).statusCode
  const message = err instanceof Error ? err.message : String(err)
  // 409: the same idempotency key is in flight elsewhere; 429: rate limited. Neither is a no.
  if (status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429) {
    return new RefundRefused(`Stripe refused the refund: ${message}`)
  }
  return new ProviderError(`Stripe: ${message}`)
}
