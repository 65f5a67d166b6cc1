/**
 * Stripe's events about money after "paid": refunds (`refund.created|updated|failed`,
 * `charge.refund.updated`, `charge.refunded`) and disputes (`charge.dispute.*`). Each is applied
 * at most once (its event id in the same D1 batch as the change), forward only, and recomputes
 * the payment from its rows, so duplicates and any order of arrival leave the same result.
 */
import type { Context } from 'hono'
import type Stripe from 'stripe'
import type { AppEnv } from '../env'
import { ApiError } from '../errors'
import { log } from '../lib/log'
import { type PaymentContext, paymentContext } from './context'
import { applyDisputeUpdate, disputeStatusOf } from './dispute-queries'
import { settleInHub } from './events'
import { applyRefundUpdate, type RefundApplyResult } from './refund-queries'
import { loadStripe } from './stripe'
import { answerOf, refundReasonOf } from './stripe-refunds'

const REFUND_EVENTS = new Set([
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.refund.updated',
])
const DISPUTE_EVENTS = new Set([
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
])

export const isMoneyEvent = (type: string) =>
  REFUND_EVENTS.has(type) || DISPUTE_EVENTS.has(type) || type === 'charge.refunded'

export interface MoneyEvent {
  id: string
  type: string
  object: unknown
  /** Connect: the account it came from (checked against the payment's by platform mode). */
  account?: string | null
}

export type MoneyEventResult =
  | { handled: true; paymentId: string }
  | { handled: false; reason: string }
  /** Applied in D1; the hub or Stripe could not be reached: the sender should retry. */
  | { handled: 'retry'; reason: string }

const intentOf = (v: string | { id: string } | null | undefined) =>
  typeof v === 'string' ? v : (v?.id ?? null)

async function applyRefund(
  ctx: PaymentContext,
  eventId: string,
  type: string,
  refund: Stripe.Refund,
  account: string | null,
): Promise<RefundApplyResult> {
  const answer = answerOf(refund)
  return applyRefundUpdate(ctx.db, {
    account,
    eventId,
    provider: 'stripe',
    type,
    providerRefundId: answer.providerRefundId,
    refundId: refund.metadata?.refund_id ?? null,
    providerPaymentId: answer.providerPaymentId,
    amount: answer.amount,
    currency: answer.currency,
    status: answer.status,
    reason: refundReasonOf(refund.reason),
    failureReason: answer.failureReason,
  })
}

export async function receiveMoneyEvent(
  ctx: PaymentContext,
  event: MoneyEvent,
): Promise<MoneyEventResult> {
  let paymentId: string
  if (REFUND_EVENTS.has(event.type)) {
    const result = await applyRefund(
      ctx,
      event.id,
      event.type,
      event.object as Stripe.Refund,
      event.account ?? null,
    )
    if (!result.payment) return { handled: false, reason: result.reason }
    paymentId = result.payment.id
  } else if (event.type === 'charge.refunded') {
    // Since API 2022-11-15 the charge carries no refunds: ask Stripe for this charge's.
    const charge = event.object as Stripe.Charge
    let list: Stripe.Refund[]
    try {
      const { client } = await loadStripe(ctx.env)
      const page = await client.refunds.list(
        { charge: charge.id, limit: 100 },
        event.account ? { stripeAccount: event.account } : {},
      )
      list = page.data
    } catch (err) {
      log.error('refunds of a refunded charge not read', { eventId: event.id }, err)
      return { handled: 'retry', reason: 'provider_unavailable' }
    }
    let found: string | null = null
    for (const refund of list) {
      const result = await applyRefund(
        ctx,
        `${event.id}:${refund.id}`,
        event.type,
        refund,
        event.account ?? null,
      )
      if (result.payment) found = result.payment.id
    }
    if (!found) return { handled: false, reason: 'unknown_payment' }
    paymentId = found
  } else if (DISPUTE_EVENTS.has(event.type)) {
    const dispute = event.object as Stripe.Dispute
    const result = await applyDisputeUpdate(ctx.db, {
      account: event.account ?? null,
      eventId: event.id,
      type: event.type,
      disputeId: dispute.id,
      providerPaymentId: intentOf(dispute.payment_intent),
      amount: dispute.amount,
      currency: dispute.currency,
      status: disputeStatusOf(dispute.status),
    })
    if (!result.payment) return { handled: false, reason: result.reason }
    paymentId = result.payment.id
  } else {
    return { handled: false, reason: 'unhandled_type' }
  }
  // A refund keeps the slot, but settling is idempotent and keeps the hub in line with D1.
  if (!(await settleInHub(ctx, paymentId))) return { handled: 'retry', reason: 'hub_unavailable' }
  return { handled: true, paymentId }
}

/** The webhook's part: applies the event, and asks Stripe to send it again when that failed. */
export async function receiveMoneyWebhook(
  c: Context<AppEnv>,
  event: { id: string; type: string; object?: unknown; account?: string | null },
) {
  const result = await receiveMoneyEvent(paymentContext(c.env, c.req.url), {
    id: event.id,
    type: event.type,
    object: event.object,
    account: event.account ?? null,
  })
  if (result.handled === 'retry') {
    throw new ApiError(503, 'temporarily_unavailable', 'Not finished; retry later.')
  }
  if (!result.handled) {
    log.warn('stripe event not applied', {
      eventId: event.id,
      type: event.type,
      reason: result.reason,
    })
  }
  return { received: true, handled: result.handled }
}
