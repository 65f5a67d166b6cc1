/**
 * The narrow interface every payment provider implements: Stripe Checkout in production, and the
 * offline test-mode provider when no Stripe key is configured. Everything else in the pay path is
 * provider-agnostic.
 */

export type ProviderName = 'stripe' | 'test'

/** What a provider can tell us about a session, in our words. */
export type SessionOutcome = 'open' | 'processing' | 'paid' | 'failed' | 'expired'

export interface CheckoutRequest {
  paymentId: string
  amount: number
  currency: string
  description: string
  merchantName: string
  successUrl: string
  cancelUrl: string
  /** Epoch ms; the provider closes the session then. */
  expiresAt: number
  /** Platform mode: the platform's fee, in minor units (`application_fee_amount`); 0 = none. */
  applicationFee?: number
  metadata: Record<string, string>
}

export interface CheckoutSession {
  id: string
  /** Where the customer pays. */
  url: string
}

export interface PaymentMethod {
  brand: string | null
  last4: string | null
}

export interface SessionSnapshot {
  id: string
  paymentId: string | null
  outcome: SessionOutcome
  amount: number | null
  currency: string | null
  email: string | null
  method: PaymentMethod | null
  /** The provider's payment (Stripe's payment intent), once there is one: what refunds name. */
  providerPaymentId?: string | null
}

export interface PaymentProvider {
  readonly name: ProviderName
  /** Creates a hosted checkout for exactly this amount; idempotent per payment id. */
  createCheckout(request: CheckoutRequest): Promise<CheckoutSession>
  /** Reads a session's state: to display, and to close an overdue one (expired, failed); never to fulfil. */
  getSession(sessionId: string): Promise<SessionSnapshot>
  /**
   * Closes an unpaid session early so its slot can free at once. True when the session can no
   * longer be paid (closed now, or already expired); false when it was completed (paid or
   * processing), whose slot must stay.
   */
  cancelSession(sessionId: string): Promise<boolean>
}

/** The provider could not do what was asked (not configured, refused, unreachable). */
export class ProviderError extends Error {}
