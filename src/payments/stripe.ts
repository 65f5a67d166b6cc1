/**
 * Stripe Checkout through the official SDK. The SDK is imported lazily, so it never costs the scan
 * path anything: only paying, the return page and the webhook load it.
 */
import type Stripe from 'stripe'
import type { Bindings } from '../env'
import { truncate } from '../lib/text'
import {
  type CheckoutRequest,
  type CheckoutSession,
  type PaymentProvider,
  ProviderError,
  type SessionOutcome,
  type SessionSnapshot,
} from './provider'

/** Stripe refuses webhooks older than this many seconds (its default, and SECURITY.md's). */
export const WEBHOOK_TOLERANCE_SECONDS = 300

/** The SDK and a client for the deployment's key (the platform's, in platform mode). */
export async function loadStripe(env: Bindings) {
  const { default: StripeSdk } = await import('stripe')
  const key = env.STRIPE_SECRET_KEY
  if (!key) throw new ProviderError('STRIPE_SECRET_KEY is not configured')
  const client = new StripeSdk(key, {
    httpClient: StripeSdk.createFetchHttpClient(),
    maxNetworkRetries: 2,
    // Only set to point the SDK at a local fake or stripe-mock; production uses api.stripe.com.
    ...(env.STRIPE_API_HOST ? { host: env.STRIPE_API_HOST } : {}),
    ...(env.STRIPE_API_PORT ? { port: Number(env.STRIPE_API_PORT) } : {}),
    ...(env.STRIPE_API_PROTOCOL === 'http' ? { protocol: 'http' as const } : {}),
  })
  return { StripeSdk, client }
}

/**
 * `account`: a connected account (platform mode's direct charges): every call carries its
 * `Stripe-Account` header, since its sessions exist only there. Null: the deployment's own.
 */
export function stripeProvider(env: Bindings, account: string | null = null): PaymentProvider {
  const on = account ? { stripeAccount: account } : {}
  return {
    name: 'stripe',
    async createCheckout(request: CheckoutRequest): Promise<CheckoutSession> {
      const { client } = await loadStripe(env)
      try {
        const session = await client.checkout.sessions.create(
          {
            mode: 'payment',
            submit_type: 'pay',
            line_items: [
              {
                quantity: 1,
                price_data: {
                  currency: request.currency,
                  unit_amount: request.amount,
                  product_data: { name: truncate(request.description, 250) },
                },
              },
            ],
            client_reference_id: request.paymentId,
            metadata: request.metadata,
            payment_intent_data: {
              description: truncate(`${request.merchantName}: ${request.description}`, 1000),
              metadata: request.metadata,
              ...(account && request.applicationFee
                ? { application_fee_amount: request.applicationFee }
                : {}),
            },
            success_url: request.successUrl,
            cancel_url: request.cancelUrl,
            expires_at: Math.floor(request.expiresAt / 1000),
          },
          { idempotencyKey: request.paymentId, ...on },
        )
        if (!session.url) throw new ProviderError('Stripe returned a session without a URL')
        return { id: session.id, url: session.url }
      } catch (err) {
        throw asProviderError(err)
      }
    },

    async getSession(sessionId: string): Promise<SessionSnapshot> {
      const { client } = await loadStripe(env)
      try {
        const session = await client.checkout.sessions.retrieve(
          sessionId,
          { expand: ['payment_intent.latest_charge'] },
          on,
        )
        return snapshotOf(session)
      } catch (err) {
        throw asProviderError(err)
      }
    },

    async cancelSession(sessionId: string): Promise<boolean> {
      const { client } = await loadStripe(env)
      try {
        const session = await client.checkout.sessions.retrieve(sessionId, {}, on)
        if (session.status === 'complete') return false
        if (session.status === 'open') {
          // Fails if the customer completes it meanwhile: then nothing is released.
          await client.checkout.sessions.expire(sessionId, {}, on)
        }
        return true
      } catch (err) {
        throw asProviderError(err)
      }
    },
  }
}

function asProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err
  // The SDK has already retried what was worth retrying (maxNetworkRetries).
  const message = err instanceof Error ? err.message : String(err)
  return new ProviderError(`Stripe: ${message}`)
}

export function snapshotOf(
  session: Stripe.Checkout.Session,
  outcome?: SessionOutcome,
): SessionSnapshot {
  const intent = typeof session.payment_intent === 'object' ? session.payment_intent : null
  const charge = intent && typeof intent.latest_charge === 'object' ? intent.latest_charge : null
  const card = charge?.payment_method_details?.card
  return {
    id: session.id,
    paymentId: session.client_reference_id ?? session.metadata?.payment_id ?? null,
    outcome: outcome ?? outcomeOf(session),
    amount: session.amount_total,
    currency: session.currency,
    email: session.customer_details?.email ?? null,
    method: card ? { brand: card.brand ?? null, last4: card.last4 ?? null } : null,
    providerPaymentId:
      typeof session.payment_intent === 'string' ? session.payment_intent : (intent?.id ?? null),
  }
}

/** Payment intent states after which a delayed payment (SEPA, …) can no longer succeed. */
const INTENT_FAILED = new Set(['requires_payment_method', 'canceled'])

function outcomeOf(session: Stripe.Checkout.Session): SessionOutcome {
  if (session.status === 'expired') return 'expired'
  if (session.status === 'complete') {
    if (session.payment_status !== 'unpaid') return 'paid'
    // A retrieved session carries its expanded intent: a delayed payment that failed shows there.
    const intent = typeof session.payment_intent === 'object' ? session.payment_intent : null
    return intent && INTENT_FAILED.has(intent.status) ? 'failed' : 'processing'
  }
  return 'open'
}

/** The Checkout events we act on, and what each means for the payment. */
const HANDLED: Record<string, (s: Stripe.Checkout.Session) => SessionOutcome> = {
  'checkout.session.completed': outcomeOf,
  'checkout.session.async_payment_succeeded': () => 'paid',
  'checkout.session.async_payment_failed': () => 'failed',
  'checkout.session.expired': () => 'expired',
}

export interface VerifiedEvent {
  id: string
  type: string
  /** `event.account`: the connected account it came from; null for the platform's own. */
  account: string | null
  /** When Stripe made the event, epoch ms. */
  createdAt: number
  /** The event's object as sent: what account, refund and dispute events are read from. */
  object: unknown
  /** Undefined for event types we ignore. */
  session?: SessionSnapshot
}

/**
 * Verifies a webhook against the raw body and turns it into our terms. Throws on a bad
 * signature, a stale timestamp or a tampered body. `endpoint`: whose signing secret applies, the
 * platform's own endpoint's or the Connect endpoint's (events from connected accounts).
 */
export async function verifyStripeWebhook(
  env: Bindings,
  rawBody: string,
  signature: string,
  endpoint: 'platform' | 'connect' = 'platform',
): Promise<VerifiedEvent> {
  const name = endpoint === 'connect' ? 'STRIPE_CONNECT_WEBHOOK_SECRET' : 'STRIPE_WEBHOOK_SECRET'
  const secret = env[name]
  if (!secret) throw new ProviderError(`${name} is not configured`)
  const { StripeSdk } = await loadStripe(env)
  const event = await StripeSdk.webhooks.constructEventAsync(
    rawBody,
    signature,
    secret,
    WEBHOOK_TOLERANCE_SECONDS,
    StripeSdk.createSubtleCryptoProvider(),
  )
  const base = {
    id: event.id,
    type: event.type,
    account: event.account ?? null,
    createdAt: event.created * 1000,
    object: event.data.object as unknown,
  }
  const toOutcome = HANDLED[event.type]
  if (!toOutcome) return base
  const session = event.data.object as Stripe.Checkout.Session
  return { ...base, session: snapshotOf(session, toOutcome(session)) }
}
