/**
 * How a refund reaches the provider that took the payment: Stripe (stripe-refunds.ts) or the
 * offline test-mode provider below. The payment's own provider decides, so a test-mode payment
 * is refunded in test mode even after Stripe is configured.
 */
import type { Payment, RefundReason, RefundStatus } from '../db/schema'
import type { Bindings } from '../env'
import { isProduction } from '../lib/environment'
import { ProviderError, type ProviderName } from './provider'
import { stripeRefunds } from './stripe-refunds'

export interface RefundOrder {
  /** Our `rfd_…`: the provider's idempotency key, so a retry never refunds twice. */
  refundId: string
  paymentId: string
  /** Stripe's payment intent, when we know it; else it is looked up from the session. */
  providerPaymentId: string | null
  sessionId: string | null
  amount: number
  currency: string
  reason: RefundReason | null
}

export interface RefundAnswer {
  providerRefundId: string
  /** The payment intent refunded: remembered on the payment for later events. */
  providerPaymentId: string | null
  amount: number
  currency: string
  status: RefundStatus
  failureReason: string | null
}

/** Where the refund goes; `stripeAccount`: the connected account the payment was made on. */
export interface RefundOptions {
  stripeAccount?: string
}

export interface RefundProvider {
  readonly name: ProviderName
  /**
   * Asks for the refund. Throws `RefundRefused` when the provider answered no (nothing was
   * refunded), `ProviderError` when it could not be asked or did not answer (a retry with the
   * same refund id is safe).
   */
  createRefund(order: RefundOrder, options?: RefundOptions): Promise<RefundAnswer>
}

/** The provider answered and refused the refund: nothing was refunded. */
export class RefundRefused extends Error {}

export function refundProvider(env: Bindings, payment: Pick<Payment, 'provider'>): RefundProvider {
  if (payment.provider === 'stripe') return stripeRefunds(env)
  if (isProduction(env)) {
    // A test-mode payment cannot exist in production; refuse rather than pretend.
    throw new ProviderError('Test-mode payments cannot be refunded in production.')
  }
  return testModeRefunds
}

/**
 * The test-mode provider's refunds succeed at once, except an amount whose last two digits are
 * 13 (e.g. €0.13, €4.13): that one fails like a closed card, so the failed path can be tried
 * offline. Its answer is applied like Stripe's.
 */
export const TEST_FAILING_CENTS = 13

export const testModeRefunds: RefundProvider = {
  name: 'test',
  async createRefund(order) {
    const fails = order.amount % 100 === TEST_FAILING_CENTS
    return {
      providerRefundId: `test_re_${order.refundId.slice('rfd_'.length)}`,
      providerPaymentId: null,
      amount: order.amount,
      currency: order.currency,
      status: fails ? 'failed' : 'succeeded',
      failureReason: fails ? 'expired_or_canceled_card' : null,
    }
  },
}
