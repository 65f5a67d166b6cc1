/**
 * The offline test-mode provider, used when no Stripe key is configured (as in `npm run dev`). Its
 * "hosted checkout" is our own page where a person chooses success or failure; the choice goes
 * through the same `applyPaymentEvent` as a Stripe webhook. It refuses to exist in production.
 */
import { eq } from 'drizzle-orm'
import type { Db } from '../db/client'
import { isPaidStatus, type Payment, payments } from '../db/schema'
import { newId } from '../lib/ids'
import type { PaymentProvider, SessionOutcome, SessionSnapshot } from './provider'
import { applyPaymentEvent, type ProviderEvent } from './queries'

const TEST_SESSION_PREFIX = 'test_cs_'

/** The payment a test session belongs to: its id is in the session's (see createCheckout). */
export function paymentIdOfTestSession(sessionId: string): string | undefined {
  if (!sessionId.startsWith(TEST_SESSION_PREFIX) || sessionId.length > 64) return undefined
  return `pay_${sessionId.slice(TEST_SESSION_PREFIX.length)}`
}

/**
 * What happened to a test session, as the event a provider would send: the customer's choice on
 * the test checkout page, or a cancel (which expires the session). Only a charge names an amount.
 */
export function testSessionEvent(
  payment: Pick<Payment, 'id' | 'sessionId' | 'amount' | 'currency'>,
  happened: 'paid' | 'failed' | 'expired' | 'canceled',
  email: string | null = null,
): ProviderEvent {
  const outcome = happened === 'canceled' ? 'expired' : happened
  const charged = outcome !== 'expired'
  return {
    id: newId('evt'),
    provider: 'test',
    type: `test.session.${happened}`,
    paymentId: payment.id,
    sessionId: payment.sessionId ?? '',
    outcome,
    amount: charged ? payment.amount : null,
    currency: charged ? payment.currency : null,
    email,
    method: outcome === 'paid' ? { brand: 'visa', last4: '4242' } : null,
  }
}

const OUTCOME_OF_STATUS: Record<string, SessionOutcome> = {
  pending: 'open',
  processing: 'processing',
  paid: 'paid',
  partially_refunded: 'paid',
  refunded: 'paid',
  failed: 'failed',
  expired: 'expired',
  canceled: 'expired',
}

export function testModeProvider(db: Db, base: string): PaymentProvider {
  return {
    name: 'test',
    async createCheckout(request) {
      // Deterministic per payment, like Stripe's idempotency key: a retry yields the same session.
      const id = `${TEST_SESSION_PREFIX}${request.paymentId.slice('pay_'.length)}`
      return { id, url: `${base}/test-mode/checkout/${id}` }
    },
    async getSession(sessionId) {
      const [row] = await db.select().from(payments).where(eq(payments.sessionId, sessionId))
      const snapshot: SessionSnapshot = {
        id: sessionId,
        paymentId: row?.id ?? null,
        outcome: row ? (OUTCOME_OF_STATUS[row.status] ?? 'open') : 'expired',
        amount: row?.amount ?? null,
        currency: row?.currency ?? null,
        email: row?.customerEmail ?? null,
        method: null,
      }
      return snapshot
    },
    async cancelSession(sessionId) {
      const [row] = await db.select().from(payments).where(eq(payments.sessionId, sessionId))
      if (!row) return true
      const { payment } = await applyPaymentEvent(db, testSessionEvent(row, 'canceled'))
      return !payment || (!isPaidStatus(payment.status) && payment.status !== 'processing')
    },
  }
}
