/**
 * A customer's checkout session after pay was pressed, as their public pages see it: the return
 * page asks how it went, cancel and a second press of pay close it. Every question to the provider
 * from these pages shares one budget, since Stripe's rate limit is the whole account's.
 */
import { isPaidStatus, type Payment } from '../db/schema'
import { hubFor } from '../hub/client'
import { log } from '../lib/log'
import type { PaymentContext } from './context'
import { settleInHub } from './events'
import type { PaymentProvider } from './provider'
import { paymentProvider } from './select'

/** How many times a return page asks the provider before it only re-reads our database. */
export const MAX_PROVIDER_CHECKS = 6

/**
 * Asks the payment provider about a payment from a public page: at most PAY_LIMITER's 10 times a
 * minute per payment, whoever loads the page (a looping tab or a script must not starve other
 * customers' checkouts). Undefined when over that, or when the provider cannot answer or is not
 * configured: these pages then show what D1 knows.
 */
async function askProvider<T>(
  ctx: PaymentContext,
  payment: Pick<Payment, 'id' | 'stripeAccount'>,
  ask: (provider: PaymentProvider) => Promise<T>,
): Promise<T | undefined> {
  const paymentId = payment.id
  const { success } = await ctx.env.PAY_LIMITER.limit({ key: `ask:${paymentId}` })
  if (!success) return undefined
  try {
    // The account the session was made on: a connected one's sessions exist only there.
    return await ask(paymentProvider(ctx.env, ctx.db, ctx.base, payment.stripeAccount))
  } catch (err) {
    log.error('payment provider not asked', { paymentId }, err)
    return undefined
  }
}

/** Closes a pending payment's session: true once it can no longer be paid. */
export async function closeSession(ctx: PaymentContext, payment: Payment): Promise<boolean> {
  const sessionId = payment.sessionId
  if (!sessionId) return false
  return (await askProvider(ctx, payment, (p) => p.cancelSession(sessionId))) ?? false
}

/** Cancel: closes the session and, once it can no longer be paid, frees its slot at once. */
export async function cancelCheckout(ctx: PaymentContext, payment: Payment) {
  if (await closeSession(ctx, payment)) {
    await hubFor(ctx.env, payment.codeId)
      .settlePayment(payment.id, 'released')
      .catch((err) =>
        log.error(
          'closed checkout not released in the hub',
          { paymentId: payment.id, codeId: payment.codeId },
          err,
        ),
      )
  }
  // Test mode changed the payment at once; Stripe changes it through its `expired` webhook.
  await settleInHub(ctx, payment.id)
}

/** What the return page can tell the customer about their payment. */
export type PaymentProgress =
  | { kind: 'paid' | 'processing' | 'failed' | 'not_completed' }
  /** The provider says it went through; its event has not arrived yet. */
  | { kind: 'confirming'; checks: number }
  /** Asked the provider MAX_PROVIDER_CHECKS times already: only D1 is read from now on. */
  | { kind: 'taking_long' }

/**
 * Where the payment stands, by D1, and for a pending one by its provider (to display only: only
 * its event changes the payment). `checks` counts the times this page has already asked.
 */
export async function paymentProgress(
  ctx: PaymentContext,
  payment: Payment,
  checks: number,
): Promise<PaymentProgress> {
  if (isPaidStatus(payment.status)) return { kind: 'paid' }
  if (payment.status === 'processing' || payment.status === 'failed') {
    return { kind: payment.status }
  }
  const sessionId = payment.sessionId
  if (payment.status === 'pending' && sessionId) {
    // The webhook may not have arrived yet. Each refresh counts itself, waits longer, and stops
    // asking after a few, so an open tab cannot poll Stripe forever if a webhook is stuck.
    if (checks >= MAX_PROVIDER_CHECKS) return { kind: 'taking_long' }
    const snapshot = await askProvider(ctx, payment, (p) => p.getSession(sessionId))
    if (snapshot?.outcome === 'paid' || snapshot?.outcome === 'processing') {
      return { kind: 'confirming', checks: checks + 1 }
    }
  }
  return { kind: 'not_completed' }
}
